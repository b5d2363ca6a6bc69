import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Environment } from '../../../core/environment/schema';
import type { RolloutEvents } from '../ports';
import { EventBridgeEvents } from './eventbridge-events';
import { FanOutEvents } from './fan-out-events';
import { SsmWebhookSecrets } from './ssm-secrets';
import { webhookDestinations } from './webhook-events';

/** Clients of {@link awsRolloutEvents}, for tests. */
export interface AwsRolloutEventsClients {
  /** @default - one for the home region */
  readonly eventBridge?: EventBridgeClient;
  /** @default - one for the home region, made only when a webhook names a secret */
  readonly ssm?: SSMClient;
}

/**
 * Where an environment's rollout events go in AWS: the home region's default event bus
 * (always; an EventBridge rule takes them on to `rollout.notifications.topicArn`), and each
 * configured webhook, signed with its secret from SSM.
 */
export function awsRolloutEvents(
  env: Environment,
  clients: AwsRolloutEventsClients = {}
): RolloutEvents {
  const region = env.homeRegion;
  const { webhooks } = env.rollout.notifications;
  const signed = webhooks.some((w) => w.secretParameter);
  return new FanOutEvents([
    {
      name: 'eventbridge',
      events: new EventBridgeEvents({
        region,
        ...(clients.eventBridge ? { client: clients.eventBridge } : {}),
      }),
    },
    ...webhookDestinations(webhooks, {
      ...(signed
        ? {
            secrets: new SsmWebhookSecrets({
              region,
              ...(clients.ssm ? { client: clients.ssm } : {}),
            }),
          }
        : {}),
    }),
  ]);
}
