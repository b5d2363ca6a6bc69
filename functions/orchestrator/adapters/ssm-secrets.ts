import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { WebhookSecrets } from './webhook-events';

/** Options of an {@link SsmWebhookSecrets}. */
export interface SsmWebhookSecretsOptions {
  /** The home region, where the parameters live. */
  readonly region: string;
  /** @default - a client for `region` */
  readonly client?: SSMClient;
}

/**
 * Webhook signing secrets from SSM Parameter Store SecureString parameters (GetParameter
 * WithDecryption), each read once and kept for the life of the orchestrator's container: a
 * rotated secret is read by the next cold start (or the next change of the environment
 * definition, which rebuilds the control plane). A read that failed is tried again at the
 * next event. Encrypted with the AWS managed key `aws/ssm`, a parameter needs no KMS grant:
 * that key lets every principal of the account decrypt through SSM ("Restricting decryption
 * of SecureString parameter values", Systems Manager user guide); a customer managed key
 * must allow the orchestrator's role `kms:Decrypt` in its key policy.
 */
export class SsmWebhookSecrets implements WebhookSecrets {
  private readonly client: SSMClient;
  private readonly cache = new Map<string, Promise<string>>();

  constructor(options: SsmWebhookSecretsOptions) {
    this.client = options.client ?? new SSMClient({ region: options.region });
  }

  get(parameterName: string): Promise<string> {
    let secret = this.cache.get(parameterName);
    if (!secret) {
      secret = this.read(parameterName);
      secret.catch(() => this.cache.delete(parameterName));
      this.cache.set(parameterName, secret);
    }
    return secret;
  }

  private async read(name: string): Promise<string> {
    let value: string | undefined;
    try {
      const out = await this.client.send(
        new GetParameterCommand({ Name: name, WithDecryption: true })
      );
      value = out.Parameter?.Value;
    } catch (err) {
      const e = err as Error;
      throw new Error(`SSM parameter ${name}: ${e.name}: ${e.message}`, { cause: err });
    }
    if (!value) throw new Error(`SSM parameter ${name} has no value`);
    return value;
  }
}
