import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ROLLOUT_EVENT_SOURCE } from '../../functions/orchestrator/event-contract';

/** Props of a {@link RolloutNotifications}. */
export interface RolloutNotificationsProps {
  /** The environment whose rollout events the topic gets (other environments may share the bus). */
  readonly environmentName: string;
  /** The alert topic, in the stack's account and region (`rollout.notifications.topicArn`). */
  readonly topic: sns.ITopic;
}

/**
 * Sends an environment's rollout events from the default event bus on to an SNS topic: a
 * rule matching `source: orbit.rollouts` and the environment's name in `detail`, whose
 * target is the topic, with the whole event as the message. A rule targets only a topic of
 * its own region (other regions are reached through their event buses; EventBridge user
 * guide, "Sending and receiving events between AWS Regions"), and CDK routes a target of
 * another account through that account's bus: a topic outside the stack's account and
 * region fails synth. The topic is imported: CDK cannot change its access policy, and EventBridge
 * publishes with a resource-based policy, so the topic owner must allow
 * `events.amazonaws.com` to `sns:Publish` (EventBridge user guide, "Using resource-based
 * policies for Amazon EventBridge", Amazon SNS permissions), best with `aws:SourceArn` the
 * rule's ARN; and, for a topic encrypted with a customer managed key, the key must let
 * `events.amazonaws.com` `kms:GenerateDataKey*` and `kms:Decrypt`.
 */
export class RolloutNotifications extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RolloutNotificationsProps) {
    super(scope, id);
    const { region, account } = Stack.of(this);
    const { topic } = props;
    if (topic.env.region !== region || topic.env.account !== account) {
      throw new Error(
        `rollout.notifications.topicArn ${topic.topicArn} is not in the control plane's account and region (${account}, ${region}): an EventBridge rule there targets a topic of its own region directly, and CDK would route anything else through another account's event bus; use a topic in ${account} ${region} (subscribers may be anywhere)`
      );
    }
    this.rule = new events.Rule(this, 'Rule', {
      description: `Orbit ${props.environmentName}: rollout events to the alert topic`,
      eventPattern: {
        source: [ROLLOUT_EVENT_SOURCE],
        detail: { environment: [props.environmentName] },
      },
      targets: [new eventTargets.SnsTopic(topic)],
    });
  }
}
