import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { EnvironmentInput, RegionLocation } from '../../core/environment/schema';
import { prod } from '../../lib/config/environments/prod';
import { parseEnvironment } from '../../lib/config/load';
import { RolloutNotifications } from '../../lib/constructs/rollout-notifications';
import { ControlPlaneStack } from '../../lib/stacks/control-plane-stack';
import { RegionLocationStack } from '../../lib/stacks/region-location-stack';
import { fakeRelease } from '../support/release';

const release = fakeRelease('A');
const TOPIC = `arn:aws:sns:us-east-1:${prod.account}:orbit-alerts`;

type Notifications = NonNullable<EnvironmentInput['rollout']['notifications']>;

/** prod, with `rollout.notifications` as given. */
const prodWith = (notifications: Notifications) =>
  parseEnvironment({ ...prod, rollout: { ...prod.rollout, notifications } }, 'prod');

const controlPlane = (environment = prodWith({})) =>
  Template.fromStack(new ControlPlaneStack(new App(), 'ControlPlane', { environment, release }));

/** The orchestrator role's statements for these actions. */
const statementsFor = (t: Template, prefix: string) =>
  Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) =>
    (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).filter((s) =>
      [s.Action].flat().some((a) => a.startsWith(prefix))
    )
  );

const busArn = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:events:us-east-1:${prod.account}:event-bus/default`],
  ],
};

describe('rollout notifications in the control plane', () => {
  it('lets the orchestrator put events on the default bus of the home region, and nowhere else', () => {
    expect(statementsFor(controlPlane(), 'events:')).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn },
    ]);
  });

  it('sends the environment’s rollout events from the bus to the alert topic when one is set', () => {
    const t = controlPlane(prodWith({ topicArn: TOPIC }));
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: { source: ['orbit.rollouts'], detail: { environment: ['prod'] } },
      Targets: [{ Arn: TOPIC, Id: Match.anyValue(), RoleArn: Match.absent() }],
    });
    // The topic is imported: its policy is its owner's (no AWS::SNS::TopicPolicy here).
    t.resourceCountIs('AWS::SNS::TopicPolicy', 0);
  });

  it('creates no rule without an alert topic', () => {
    controlPlane().resourceCountIs('AWS::Events::Rule', 0);
  });

  it('lets the orchestrator read exactly the configured webhook secrets, with no KMS grant', () => {
    const t = controlPlane(
      prodWith({
        webhooks: [
          { url: 'https://hooks.example.com/a', secretParameter: '/orbit/prod/hook-a' },
          { url: 'https://hooks.example.com/b', secretParameter: '/orbit/prod/hook-a' },
          { url: 'https://hooks.example.com/c', secretParameter: '/orbit/prod/hook-c' },
          { url: 'https://hooks.example.com/d' },
        ],
      })
    );
    const parameter = (name: string) => ({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, `:ssm:us-east-1:${prod.account}:parameter/${name}`],
      ],
    });
    expect(statementsFor(t, 'ssm:')).toEqual([
      {
        Action: 'ssm:GetParameter',
        Effect: 'Allow',
        Resource: [parameter('orbit/prod/hook-a'), parameter('orbit/prod/hook-c')],
      },
    ]);
    // The only KMS statement is the release signer's own (signed releases), not the orchestrator's.
    expect(statementsFor(t, 'kms:')).toEqual([
      {
        Action: 'kms:Sign',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ReleaseKey/), 'Arn'] },
      },
    ]);
  });

  it('grants no SSM read when no webhook names a secret', () => {
    const t = controlPlane(prodWith({ webhooks: [{ url: 'https://hooks.example.com/d' }] }));
    expect(statementsFor(t, 'ssm:')).toEqual([]);
  });

  it.each([
    ['another region', 'arn:aws:sns:eu-west-1:333333333333:orbit-alerts'],
    ['another account', 'arn:aws:sns:us-east-1:444444444444:orbit-alerts'],
  ])('fails synth for an alert topic in %s, naming where it must be', (_, topicArn) => {
    expect(() => controlPlane(prodWith({ topicArn }))).toThrow(
      `rollout.notifications.topicArn ${topicArn} is not in the control plane's account and region (333333333333, us-east-1)`
    );
  });
});

describe('RolloutNotifications', () => {
  it('matches only Orbit rollout events of its environment', () => {
    const stack = new Stack(new App(), 'S', {
      env: { account: '111111111111', region: 'us-east-1' },
    });
    new RolloutNotifications(stack, 'N', {
      environmentName: 'staging',
      topic: sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:us-east-1:111111111111:alerts'),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['orbit.rollouts'], detail: { environment: ['staging'] } },
    });
  });
});

describe('gate alarms and the alert topic', () => {
  const locationStack = (id: string, notifications: Notifications = { topicArn: TOPIC }) => {
    const environment = prodWith(notifications);
    const location = environment.locations.find((l) => l.id === id) as RegionLocation;
    return new RegionLocationStack(new App(), 'Location', { environment, location, release });
  };
  const alarms = (stack: Stack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties
    );

  it('notify the topic when it goes into ALARM and back to OK, in the topic’s region', () => {
    const found = alarms(locationStack('us-east-1'));
    expect(found).toHaveLength(6);
    for (const alarm of found) {
      expect(alarm).toMatchObject({ AlarmActions: [TOPIC], OKActions: [TOPIC] });
    }
  });

  // CloudWatch alarm actions reach only topics of the alarm's region.
  it('have no action in another region, and the stack warns that they do not notify the topic', () => {
    const stack = locationStack('eu-west-1');
    for (const alarm of alarms(stack)) {
      expect(alarm.AlarmActions).toBeUndefined();
      expect(alarm.OKActions).toBeUndefined();
    }
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp(
        `gate alarms in eu-west-1 do not notify ${TOPIC}: CloudWatch alarm actions reach only topics in the alarm's region`
      )
    );
  });

  it('have no action and no warning without a topic', () => {
    const stack = locationStack('eu-west-1', {});
    for (const alarm of alarms(stack)) expect(alarm.AlarmActions).toBeUndefined();
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});
