import { ACMClient } from '@aws-sdk/client-acm';
import { EC2Client } from '@aws-sdk/client-ec2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';

/** The AWS clients preflight calls, one per service and region. */
export interface PreflightClients {
  sts(region: string): STSClient;
  ssm(region: string): SSMClient;
  ec2(region: string): EC2Client;
  acm(region: string): ACMClient;
  lambda(region: string): LambdaClient;
  /** Closes every client made so far. */
  destroy(): void;
}

/** How long a preflight client waits and how often it tries. */
export interface PreflightClientOptions {
  /** Attempts per request, the first included. @default 2 */
  readonly maxAttempts?: number;
  /** Milliseconds to open a connection. @default 1000 */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds to wait for an answer once connected. @default 3000 */
  readonly requestTimeoutMs?: number;
}

interface Destroyable {
  destroy(): void;
}

/**
 * Clients with the caller's credentials (the default chain), made on first use per region.
 * Every request is bounded — few attempts, short connection and request timeouts — so that a
 * missing network or endpoint turns into a failed check in seconds, never a hang.
 */
export function createPreflightClients(options: PreflightClientOptions = {}): PreflightClients {
  const config = (region: string) => ({
    region,
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 1_000,
      requestTimeout: options.requestTimeoutMs ?? 3_000,
    },
  });
  const made: Destroyable[] = [];
  const perRegion = <C extends Destroyable>(make: (region: string) => C) => {
    const byRegion = new Map<string, C>();
    return (region: string): C => {
      let client = byRegion.get(region);
      if (!client) {
        client = make(region);
        byRegion.set(region, client);
        made.push(client);
      }
      return client;
    };
  };
  return {
    sts: perRegion((region) => new STSClient(config(region))),
    ssm: perRegion((region) => new SSMClient(config(region))),
    ec2: perRegion((region) => new EC2Client(config(region))),
    acm: perRegion((region) => new ACMClient(config(region))),
    lambda: perRegion((region) => new LambdaClient(config(region))),
    destroy: () => {
      for (const client of made.splice(0)) client.destroy();
    },
  };
}
