import { dataRegionOf, regionLocations } from '../core/environment/fleet';
import type { Environment, Location } from '../core/environment/schema';
import {
  fleetFunctionNameOf,
  fleetFunctionPrefix,
  gateAlarmPrefix,
  orchestratorNameOf,
  releaseKeyAliasOf,
  tableNameOf,
} from '../core/names';
import { keys } from '../core/records/keys';
import { preflightCalls } from './cli/preflight';
import { ON_PREM_PRINCIPAL_TAGS } from './constructs/satellite-role';

/**
 * Every AWS call Orbit makes at run time, per component, with the action and the resource AWS
 * authorizes it on (the Service Authorization Reference, "Actions, resources, and condition
 * keys for <service>"), and the calls just outside each component's scope, which its policy
 * must deny. The IAM tests simulate each row against the synthesized policies
 * (test/iam/), and fail when code sends an SDK command that has no row here.
 */

/** Who makes a call: one principal (role or policy) each. */
export type Component =
  /** The orchestrator Lambda (control plane, home region). */
  | 'orchestrator'
  /** An Orbit function on Lambda at a region location. */
  | 'function'
  /** A satellite runtime: the instance role, or the role on-prem hosts assume. */
  | 'satellite'
  /** An on-prem host, assuming its location's role. */
  | 'on-prem-host'
  /** The deploy-time custom resources (live alias, location records, environment definition). */
  | 'deploy'
  /** The deploy-time release signer (the one role the release key lets sign). */
  | 'release-signer'
  /** EventBridge Scheduler, invoking the orchestrator. */
  | 'scheduler'
  /** VPC Flow Logs, delivering a satellite network's flow logs. */
  | 'flow-logs'
  /** A person or pipeline running the `orbit` CLI against AWS. */
  | 'operator';

/** What a call is about: the environment, and the location or function making it. */
export interface CallSubject {
  readonly environment: Environment;
  /** The location whose component calls (functions, satellites, records). */
  readonly location?: Location;
  /** The Orbit function calling (function roles), e.g. `items`. */
  readonly functionName?: string;
  /** The release's functions (their short names). @default ['items'] */
  readonly functions?: readonly string[];
  /** Partitions the function or satellite declares as application data. */
  readonly dataPartitions?: { readonly read: readonly string[]; readonly write: readonly string[] };
  /** The bundles a satellite downloads: the S3 objects its staged-release records name. */
  readonly artifacts?: readonly { readonly bucket: string; readonly key: string }[];
  /** The role an on-prem host assumes. */
  readonly roleArn?: string;
  /** The log group a service writes to (VPC flow logs). */
  readonly logGroupName?: string;
  /** The dead-letter queue of the schedules. */
  readonly queueArn?: string;
  /** The environment's release key (its key ARN, as the control plane creates it). */
  readonly releaseKeyArn?: string;
}

/** One request as IAM evaluates it. */
export interface AuthorizedRequest {
  readonly action: string;
  readonly resource: string;
  /** Request context keys, e.g. `dynamodb:LeadingKeys`, `aws:PrincipalTag/…`. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** Why this request is expected (a neighbour: why it must be denied). */
  readonly why: string;
}

/** One row: an AWS call a component makes. */
export interface AwsCall {
  readonly component: Component;
  /** The SDK v3 command classes that make this call (what aws-sdk-client-mock records). */
  readonly commands: readonly string[];
  /** Where the code sending it lives. */
  readonly source: readonly string[];
  /** The requests the component makes, for a subject: each must be allowed. */
  readonly requests: (subject: CallSubject) => readonly AuthorizedRequest[];
  /** Requests just outside the scope: each must be denied. */
  readonly outside: (subject: CallSubject) => readonly AuthorizedRequest[];
  /** Whether the component makes this call for that subject. @default - always */
  readonly appliesTo?: (subject: CallSubject) => boolean;
}

/** ARNs as AWS authorizes them. */
export const arns = {
  table: (env: Environment, region: string, name = tableNameOf(env)) =>
    `arn:aws:dynamodb:${region}:${env.account}:table/${name}`,
  /** The unqualified function ARN: Lambda authorizes alias and invoke calls on it. */
  lambda: (env: Environment, region: string, name: string) =>
    `arn:aws:lambda:${region}:${env.account}:function:${name}`,
  alarm: (env: Environment, region: string, name: string) =>
    `arn:aws:cloudwatch:${region}:${env.account}:alarm:${name}`,
  ssmParameter: (env: Environment, region: string, name: string) =>
    `arn:aws:ssm:${region}:${env.account}:parameter${name}`,
  eventBus: (env: Environment, region: string, name: string) =>
    `arn:aws:events:${region}:${env.account}:event-bus/${name}`,
  /** A stream of a log group: CloudWatch Logs authorizes stream writes on it. */
  logStream: (env: Environment, region: string, group: string) =>
    `arn:aws:logs:${region}:${env.account}:log-group:${group}:log-stream:2026/12/01/0f1e2d3c`,
  certificate: (env: Environment, region: string, id: string) =>
    `arn:aws:acm:${region}:${env.account}:certificate/${id}`,
} as const;

/** The release key's ARN: the control plane's, or one of the home region when unknown. */
const releaseKeyOf = (s: CallSubject): string =>
  s.releaseKeyArn ??
  `arn:aws:kms:${s.environment.homeRegion}:${s.environment.account}:key/1234abcd-release`;

/** An account that is not the environment's: calls into it must be denied. */
export const OTHER_ACCOUNT = '999999999999';
/** A region no Orbit environment uses in tests: calls into it must be denied. */
export const OUTSIDE_REGION = 'sa-east-1';

/** The document client's commands and the low-level client's, per DynamoDB action. */
const DYNAMODB_COMMANDS: Record<string, readonly string[]> = {
  'dynamodb:GetItem': ['GetCommand', 'GetItemCommand'],
  'dynamodb:PutItem': ['PutCommand', 'PutItemCommand'],
  'dynamodb:UpdateItem': ['UpdateCommand', 'UpdateItemCommand'],
  'dynamodb:DeleteItem': ['DeleteCommand', 'DeleteItemCommand'],
  'dynamodb:Query': ['QueryCommand'],
  'dynamodb:BatchGetItem': ['BatchGetCommand', 'BatchGetItemCommand'],
  'dynamodb:BatchWriteItem': ['BatchWriteCommand', 'BatchWriteItemCommand'],
};

const regionOfSubject = (s: CallSubject): string =>
  s.location
    ? s.location.kind === 'region'
      ? s.location.region
      : s.location.parentRegion
    : s.environment.homeRegion;
const dataRegionOfSubject = (s: CallSubject): string =>
  s.location ? dataRegionOf(s.environment, s.location) : s.environment.homeRegion;
const locationPk = (s: CallSubject) => keys.location(s.location?.id ?? 'none').pk;
/** A location id of the fleet that is not the subject's (or a made-up one in a fleet of one). */
const otherLocationPk = (s: CallSubject) =>
  keys.location(
    s.environment.locations.find((l) => l.id !== s.location?.id)?.id ?? 'another-location'
  ).pk;
/** The same table name for an environment that is not the subject's. */
const otherEnvironmentTable = (s: CallSubject) =>
  arns.table(
    s.environment,
    dataRegionOfSubject(s),
    tableNameOf({ name: `${s.environment.name}x` })
  );

/**
 * A DynamoDB call on the subject's table: one request per partition the component touches,
 * with `dynamodb:LeadingKeys` as DynamoDB sets it (the request's partition key values).
 */
function tableCall(
  component: Component,
  action: keyof typeof DYNAMODB_COMMANDS,
  source: readonly string[],
  partitions: (s: CallSubject) => readonly string[],
  outsidePartitions: (s: CallSubject) => readonly string[],
  region: (s: CallSubject) => string = dataRegionOfSubject
): AwsCall {
  const on = (pk: string | string[], resource: string, why: string): AuthorizedRequest => ({
    action,
    resource,
    context: { 'dynamodb:LeadingKeys': typeof pk === 'string' ? [pk] : pk },
    why,
  });
  return {
    component,
    commands: DYNAMODB_COMMANDS[action] as readonly string[],
    source,
    requests: (s) => {
      const pks = partitions(s);
      const table = arns.table(s.environment, region(s));
      return [
        ...pks.map((pk) => on(pk, table, `${action} on partition ${pk}`)),
        // A batch names every partition it reads at once (DrainState reads its location's
        // and its function's records in one BatchGetItem).
        ...(action === 'dynamodb:BatchGetItem' && pks.length > 1
          ? [on([...pks], table, `${action} of ${pks.join(' and ')} in one request`)]
          : []),
      ];
    },
    outside: (s) => {
      const own = partitions(s)[0];
      const table = arns.table(s.environment, region(s));
      // A component that touches no partition with this action: every partition is outside.
      if (own === undefined) {
        return [...outsidePartitions(s), 'ITEMS'].map((pk) =>
          on(pk, table, `${action} on partition ${pk}`)
        );
      }
      return [
        ...outsidePartitions(s).map((pk) => on(pk, table, `${action} on partition ${pk}`)),
        // One partition outside the scope makes the whole batch outside it (ForAllValues).
        ...(action === 'dynamodb:BatchGetItem' && outsidePartitions(s)[0]
          ? [
              on(
                [own, outsidePartitions(s)[0] as string],
                table,
                `${action} of an allowed and a foreign partition in one request`
              ),
            ]
          : []),
        on(own, otherEnvironmentTable(s), `${action} on another environment's table`),
        on(
          own,
          arns.table(s.environment, OUTSIDE_REGION),
          `${action} on a replica outside the data region`
        ),
      ];
    },
  };
}

/** The orchestrator reaches the table only through the records layer. */
const ORCHESTRATOR_SOURCE = [
  'core/records/',
  'functions/orchestrator/commands.ts',
  'functions/orchestrator/rollout-steps.ts',
  'functions/orchestrator/governance/',
  'functions/orchestrator/adapters/',
  'functions/orchestrator/index.ts',
];
/** The partitions the orchestrator reads and writes, one example key each. */
const controlPartitions = (s: CallSubject): string[] => [
  keys.environmentDefinition.pk,
  keys.rollout('ro-1').pk,
  keys.intent(0, 'i').pk,
  keys.audit('2026-12-01T00:00:00.000Z', 'a').pk,
  keys.finding('drift', 'x').pk,
  ...s.environment.locations.map((l) => keys.location(l.id).pk),
  keys.functionDrain('items').pk,
];
const appData = (): string[] => ['ITEMS'];

const fleetFunction = (s: CallSubject, region: string, name: string) =>
  arns.lambda(s.environment, region, `${fleetFunctionPrefix(s.environment)}${name}`);
/** Whether a function's declaration names `pk` among its data (as `PREFIX#*` patterns). */
const declaredToRead = (s: CallSubject, pk: string): boolean =>
  [...(s.dataPartitions?.read ?? []), ...(s.dataPartitions?.write ?? [])].some((p) =>
    p.endsWith('*') ? pk.startsWith(p.slice(0, -1)) : p === pk
  );

/** The SSM parameters holding the signing secrets of the environment's webhooks. */
const webhookSecretsOf = (s: CallSubject): string[] => [
  ...new Set(
    s.environment.rollout.notifications.webhooks.flatMap((w) =>
      w.secretParameter ? [w.secretParameter] : []
    )
  ),
];

/** The orchestrator function, in the home region. */
const orchestratorArn = (s: CallSubject) =>
  arns.lambda(s.environment, s.environment.homeRegion, orchestratorNameOf(s.environment));

/** The Lambda function name of a function or orchestrator subject. */
const lambdaNameOf = (s: CallSubject) =>
  s.functionName
    ? `${fleetFunctionPrefix(s.environment)}${s.functionName}`
    : orchestratorNameOf(s.environment);
const functionsOf = (s: CallSubject) => s.functions ?? ['items'];
const fleetRegions = (s: CallSubject) => [
  ...new Set(regionLocations(s.environment).map((l) => l.region)),
];

/** Lambda alias calls of the orchestrator, on every function of the fleet. */
function aliasCall(
  action: 'lambda:UpdateAlias' | 'lambda:GetAlias',
  command: string,
  source: string
): AwsCall {
  return {
    component: 'orchestrator',
    commands: [command],
    source: [source],
    requests: (s) =>
      fleetRegions(s).flatMap((region) =>
        functionsOf(s).map((name) => ({
          action,
          resource: fleetFunction(s, region, name),
          why: `${action} of ${name}'s live alias in ${region} (authorized on the function)`,
        }))
      ),
    outside: (s) => {
      const region = s.environment.homeRegion;
      return [
        {
          action,
          resource: arns.lambda(
            s.environment,
            region,
            fleetFunctionNameOf({ name: `${s.environment.name}x` }, 'items')
          ),
          why: `${action} on another environment's function`,
        },
        {
          action,
          resource: fleetFunction(s, OUTSIDE_REGION, 'items'),
          why: `${action} in a region outside the fleet`,
        },
        {
          action,
          resource: `arn:aws:lambda:${region}:${OTHER_ACCOUNT}:function:${fleetFunctionNameOf(s.environment, 'items')}`,
          why: `${action} in another account`,
        },
        {
          action: 'lambda:UpdateFunctionCode',
          resource: fleetFunction(s, region, 'items'),
          why: 'changing a fleet function’s code',
        },
        {
          action: 'lambda:UpdateFunctionConfiguration',
          resource: fleetFunction(s, region, 'items'),
          why: 'changing a fleet function’s configuration',
        },
      ];
    },
  };
}

/** Another object key beside `key`: the same prefix, another content hash. */
const sibling = (key: string): string => key.replace(/[0-9a-f]{64}(\.zip)$/, `${'0'.repeat(64)}$1`);

const onPremTags = (environment: string, location: string) => ({
  [`aws:PrincipalTag/${ON_PREM_PRINCIPAL_TAGS.environment}`]: environment,
  [`aws:PrincipalTag/${ON_PREM_PRINCIPAL_TAGS.location}`]: location,
});

/** `orbit preflight`'s read-only calls, as it lists them itself. */
const PREFLIGHT_COMMANDS: Record<string, string> = {
  'ssm:GetParameter': 'GetParameterCommand',
  'ec2:DescribeAvailabilityZones': 'DescribeAvailabilityZonesCommand',
  'ec2:DescribeInstanceTypeOfferings': 'DescribeInstanceTypeOfferingsCommand',
  'acm:DescribeCertificate': 'DescribeCertificateCommand',
  'lambda:GetAccountSettings': 'GetAccountSettingsCommand',
};

/** Rows for preflight, one per action (its requests are the ones `preflightCalls` lists). */
function preflightRows(): AwsCall[] {
  return Object.entries(PREFLIGHT_COMMANDS).map(([action, command]) => ({
    component: 'operator',
    commands: [command],
    source: ['lib/cli/preflight-checks.ts'],
    requests: (s) =>
      preflightCalls(s.environment)
        .filter((c) => c.action === action)
        .map((c) => ({ ...c, why: `preflight: ${action} on ${c.resource}` })),
    outside: (s) =>
      action === 'ssm:GetParameter'
        ? [
            {
              action,
              resource: arns.ssmParameter(s.environment, s.environment.homeRegion, '/orbit/secret'),
              why: 'preflight may not read other parameters',
            },
          ]
        : action === 'acm:DescribeCertificate'
          ? [
              {
                action: 'acm:ExportCertificate',
                resource: arns.certificate(s.environment, s.environment.homeRegion, 'x'),
                why: 'exporting a certificate',
              },
            ]
          : [
              {
                action: action.startsWith('ec2:') ? 'ec2:RunInstances' : 'lambda:CreateFunction',
                resource: '*',
                why: 'preflight writes nothing',
              },
            ],
  }));
}

/** The calls, one row each. */
export const AWS_CALLS: readonly AwsCall[] = [
  // The orchestrator: control records in the home region's table.
  ...(
    [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    ] as const
  ).map((action) =>
    tableCall('orchestrator', action, ORCHESTRATOR_SOURCE, controlPartitions, appData)
  ),
  {
    // A move that adds a release waits until the location's data-region replica shows it.
    ...tableCall(
      'orchestrator',
      'dynamodb:GetItem',
      ['functions/orchestrator/adapters/lambda-traffic.ts', 'core/records/desired-traffic.ts'],
      (s) =>
        s.environment.locations
          .filter((l) => dataRegionOf(s.environment, l) !== s.environment.homeRegion)
          .map((l) => keys.location(l.id).pk),
      () => ['CONTROL', 'ITEMS'],
      (s) =>
        s.environment.data.regions.find((r) => r !== s.environment.homeRegion) ??
        s.environment.homeRegion
    ),
    appliesTo: (s) => s.environment.data.regions.length > 1,
  },
  aliasCall(
    'lambda:UpdateAlias',
    'UpdateAliasCommand',
    'functions/orchestrator/adapters/lambda-traffic.ts'
  ),
  aliasCall(
    'lambda:GetAlias',
    'GetAliasCommand',
    'functions/orchestrator/adapters/lambda-observer.ts'
  ),
  {
    component: 'orchestrator',
    commands: ['InvokeCommand'],
    source: ['functions/orchestrator/adapters/lambda-smoke.ts'],
    // Smoke checks invoke a staged version itself (`Qualifier: <version>`). Lambda authorizes
    // that on the qualified ARN, `function:NAME:VERSION`, and a grant on the unqualified ARN
    // does not cover it (Lambda API Reference, Invoke: "If you specify a function version, the
    // API uses the qualified function ARN"; Lambda developer guide, "Fine-tuning the Resources
    // and Conditions sections of policies"; Service Authorization Reference, "Actions,
    // resources, and condition keys for AWS Lambda": InvokeFunction, resource type function).
    requests: (s) =>
      fleetRegions(s).flatMap((region) =>
        functionsOf(s).map((name) => ({
          action: 'lambda:InvokeFunction',
          resource: `${fleetFunction(s, region, name)}:7`,
          why: `a smoke check of ${name}'s staged version 7 in ${region} (authorized on the qualified ARN)`,
        }))
      ),
    outside: (s) => {
      const region = s.environment.homeRegion;
      const other = fleetFunctionNameOf({ name: `${s.environment.name}x` }, 'items');
      return [
        {
          action: 'lambda:InvokeFunction',
          resource: `${arns.lambda(s.environment, region, other)}:7`,
          why: "invoking a version of another environment's function",
        },
        {
          action: 'lambda:InvokeFunction',
          resource: fleetFunction(s, region, 'items'),
          why: 'invoking $LATEST (the unqualified ARN), which no release staged',
        },
        {
          action: 'lambda:InvokeFunction',
          resource: `${fleetFunction(s, OUTSIDE_REGION, 'items')}:7`,
          why: 'invoking a version in a region outside the fleet',
        },
        {
          action: 'lambda:InvokeFunction',
          resource: `arn:aws:lambda:${region}:${OTHER_ACCOUNT}:function:${fleetFunctionNameOf(s.environment, 'items')}:7`,
          why: 'invoking a version in another account',
        },
      ];
    },
  },
  {
    component: 'orchestrator',
    commands: ['DescribeAlarmsCommand'],
    source: ['functions/orchestrator/adapters/cloudwatch-health.ts'],
    // A listing by AlarmNamePrefix: CloudWatch authorizes it on `alarm:*`, not on the names
    // it returns (Service Authorization Reference, Amazon CloudWatch: DescribeAlarms, alarm*).
    requests: (s) =>
      fleetRegions(s).map((region) => ({
        action: 'cloudwatch:DescribeAlarms',
        resource: arns.alarm(s.environment, region, '*'),
        why: `gate alarms of the fleet in ${region}, listed by ${gateAlarmPrefix(s.environment, regionLocations(s.environment).find((l) => l.region === region)?.id ?? '', 'r-…')}`,
      })),
    outside: (s) => [
      {
        action: 'cloudwatch:DescribeAlarms',
        resource: arns.alarm(s.environment, OUTSIDE_REGION, '*'),
        why: 'alarms in a region outside the fleet',
      },
      {
        action: 'cloudwatch:PutMetricAlarm',
        resource: arns.alarm(
          s.environment,
          s.environment.homeRegion,
          `${gateAlarmPrefix(s.environment, 'x', 'r-0')}items-error-rate`
        ),
        why: 'changing a gate alarm',
      },
      {
        action: 'cloudwatch:DeleteAlarms',
        resource: arns.alarm(s.environment, s.environment.homeRegion, '*'),
        why: 'deleting alarms',
      },
    ],
  },
  {
    component: 'orchestrator',
    commands: ['GetMetricDataCommand'],
    source: ['functions/orchestrator/adapters/cloudwatch-health.ts'],
    // GetMetricData has no resource-level permissions: the Service Authorization Reference
    // lists no resource type for it.
    requests: () => [
      { action: 'cloudwatch:GetMetricData', resource: '*', why: 'gate metrics (no resource)' },
    ],
    outside: () => [
      { action: 'cloudwatch:PutMetricData', resource: '*', why: 'publishing metrics' },
    ],
  },
  // Rollout events go to the default event bus of the home region: PutEvents is authorized
  // on the bus (Service Authorization Reference, "Actions, resources, and condition keys for
  // Amazon EventBridge": PutEvents, resource type event-bus).
  {
    component: 'orchestrator',
    commands: ['PutEventsCommand'],
    source: ['functions/orchestrator/adapters/eventbridge-events.ts'],
    requests: (s) => [
      {
        action: 'events:PutEvents',
        resource: arns.eventBus(s.environment, s.environment.homeRegion, 'default'),
        why: 'a rollout event on the default bus of the home region',
      },
    ],
    outside: (s) => [
      {
        action: 'events:PutEvents',
        resource: arns.eventBus(s.environment, s.environment.homeRegion, 'orbit-other'),
        why: 'putting events on another bus',
      },
      {
        action: 'events:PutEvents',
        resource: arns.eventBus(s.environment, OUTSIDE_REGION, 'default'),
        why: 'putting events on the default bus of another region',
      },
      {
        action: 'events:PutRule',
        resource: `arn:aws:events:${s.environment.homeRegion}:${s.environment.account}:rule/orbit-x`,
        why: 'changing the rules of the bus',
      },
    ],
  },
  // Webhook signing secrets: GetParameter (WithDecryption) is authorized on the parameter
  // (Service Authorization Reference, "Actions, resources, and condition keys for AWS Systems
  // Manager": GetParameter, resource type parameter). The AWS managed key aws/ssm lets every
  // principal of the account decrypt through SSM: no KMS grant ("Restricting decryption of
  // SecureString parameter values", Systems Manager user guide).
  {
    component: 'orchestrator',
    commands: ['GetParameterCommand'],
    source: ['functions/orchestrator/adapters/ssm-secrets.ts'],
    appliesTo: (s) => webhookSecretsOf(s).length > 0,
    requests: (s) =>
      webhookSecretsOf(s).map((name) => ({
        action: 'ssm:GetParameter',
        resource: arns.ssmParameter(s.environment, s.environment.homeRegion, name),
        why: `the signing secret of a webhook, ${name}`,
      })),
    outside: (s) => {
      const [name = '/x'] = webhookSecretsOf(s);
      const home = s.environment.homeRegion;
      return [
        {
          action: 'ssm:GetParameter',
          resource: arns.ssmParameter(s.environment, home, `${name}-other`),
          why: 'reading another parameter',
        },
        {
          action: 'ssm:GetParameter',
          resource: arns.ssmParameter(s.environment, OUTSIDE_REGION, name),
          why: 'reading the parameter of that name in another region',
        },
        {
          action: 'ssm:PutParameter',
          resource: arns.ssmParameter(s.environment, home, name),
          why: 'changing a webhook secret',
        },
      ];
    },
  },

  // Orbit functions at a region location: their location's records, their drain flag, the
  // data their declaration names, all in the data region's table.
  ...(['dynamodb:GetItem', 'dynamodb:BatchGetItem'] as const).map((action) =>
    tableCall(
      'function',
      action,
      [
        'functions/shared/drain-state.ts',
        'functions/api/health/health.ts',
        'core/records/drains.ts',
        'core/records/registrations.ts',
      ],
      (s) => [locationPk(s), keys.functionDrain(s.functionName ?? 'x').pk],
      (s) =>
        [otherLocationPk(s), keys.functionDrain(`${s.functionName}x`).pk, 'CONTROL'].filter(
          (pk) => !declaredToRead(s, pk)
        )
    )
  ),
  ...(
    [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ] as const
  ).map((action) =>
    tableCall(
      'function',
      action,
      // health reads the release's function drain flags (FUNCTION#*) in one batch.
      ['functions/api/items/store.ts', 'functions/api/health/health.ts'],
      (s) =>
        ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'].includes(action)
          ? [...(s.dataPartitions?.read ?? []), ...(s.dataPartitions?.write ?? [])]
          : [...(s.dataPartitions?.write ?? [])],
      (s) => ['CONTROL', keys.rollout('ro-1').pk, `${s.dataPartitions?.write[0] ?? 'ITEMS'}X`]
    )
  ),

  // Satellite runtimes: their location's records and every function's drain flag; the
  // hosted functions' data; the release bundles in S3.
  ...(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const).map((action) =>
    tableCall(
      'satellite',
      action,
      [
        'lib/satellite/pull-agent.ts',
        'lib/satellite/artifacts.ts',
        'lib/satellite/staged-releases.ts',
        'functions/shared/drain-state.ts',
        'core/records/',
      ],
      (s) => [locationPk(s), keys.functionDrain('items').pk],
      (s) => [otherLocationPk(s), 'CONTROL', keys.rollout('ro-1').pk]
    )
  ),
  ...(['dynamodb:PutItem', 'dynamodb:UpdateItem'] as const).map((action) =>
    tableCall(
      'satellite',
      action,
      [
        'lib/satellite/pull-agent.ts',
        'core/records/heartbeats.ts',
        'core/records/desired-traffic.ts',
        'functions/api/items/store.ts',
      ],
      (s) => [locationPk(s), ...(s.dataPartitions?.write ?? [])],
      (s) => [otherLocationPk(s), 'CONTROL', keys.functionDrain('items').pk]
    )
  ),
  {
    component: 'satellite',
    commands: ['GetObjectCommand'],
    source: ['lib/satellite/artifacts.ts'],
    // s3:GetObject is authorized on the object ARN (arn:aws:s3:::bucket/key).
    requests: (s) => {
      const [first] = s.artifacts ?? [];
      return [
        ...(s.artifacts ?? []).map((a) => ({
          action: 's3:GetObject',
          resource: `arn:aws:s3:::${a.bucket}/${a.key}`,
          why: `the bundle ${a.key} this deploy staged`,
        })),
        // A host launched after a newer deploy must still load the stable release's bundles.
        ...(first
          ? [
              {
                action: 's3:GetObject',
                resource: `arn:aws:s3:::${first.bucket}/${sibling(first.key)}`,
                why: 'a bundle of an earlier release, staged by an earlier deploy',
              },
            ]
          : []),
      ];
    },
    outside: (s) => {
      const [first] = s.artifacts ?? [];
      if (!first) return [];
      return [
        {
          action: 's3:GetObject',
          resource: `arn:aws:s3:::${first.bucket}/someone-else/${first.key.split('/').pop()}`,
          why: 'another object of the assets bucket',
        },
        {
          action: 's3:GetObject',
          resource: `arn:aws:s3:::${first.bucket}x/${first.key}`,
          why: 'another bucket',
        },
        {
          action: 's3:PutObject',
          resource: `arn:aws:s3:::${first.bucket}/${first.key}`,
          why: 'overwriting a release bundle',
        },
      ];
    },
  },

  // Satellite runtimes read the release key's public key (never sign), by its alias.
  {
    component: 'satellite',
    commands: ['GetPublicKeyCommand'],
    source: ['lib/satellite/release-signature.ts'],
    // KMS authorizes GetPublicKey on the key ARN; kms:ResourceAliases holds the key's aliases.
    requests: (s) => [
      {
        action: 'kms:GetPublicKey',
        resource: releaseKeyOf(s),
        context: { 'kms:ResourceAliases': [releaseKeyAliasOf(s.environment)] },
        why: 'the release key’s public key, to verify releases',
      },
    ],
    outside: (s) => [
      {
        action: 'kms:GetPublicKey',
        resource: releaseKeyOf(s).replace(/key\/.*$/, 'key/another-key'),
        context: { 'kms:ResourceAliases': ['alias/someone-else'] },
        why: 'another key of the home region',
      },
      {
        action: 'kms:Sign',
        resource: releaseKeyOf(s),
        context: { 'kms:ResourceAliases': [releaseKeyAliasOf(s.environment)] },
        why: 'signing a release with the release key',
      },
    ],
  },

  // On-prem hosts assume their location's role (as IAM principals tagged for the location).
  {
    component: 'on-prem-host',
    commands: ['AssumeRoleCommand'],
    source: ['README.md (on-prem hosts)'],
    requests: (s) => [
      {
        action: 'sts:AssumeRole',
        resource: s.roleArn ?? '',
        context: onPremTags(s.environment.name, s.location?.id ?? ''),
        why: 'a host tagged for the location',
      },
    ],
    outside: (s) => [
      {
        action: 'sts:AssumeRole',
        resource: s.roleArn ?? '',
        context: onPremTags(s.environment.name, `${s.location?.id}x`),
        why: 'a host tagged for another location',
      },
      {
        action: 'sts:AssumeRole',
        resource: s.roleArn ?? '',
        context: onPremTags(`${s.environment.name}x`, s.location?.id ?? ''),
        why: 'a host tagged for another environment',
      },
      {
        action: 'sts:AssumeRole',
        resource: s.roleArn ?? '',
        why: 'a principal without the tags',
      },
    ],
  },

  // Deploy-time custom resources.
  {
    component: 'deploy',
    commands: ['CreateAliasCommand'],
    appliesTo: (s) => s.location?.kind === 'region',
    source: ['lib/constructs/live-alias.ts'],
    requests: (s) =>
      functionsOf(s).map((name) => ({
        action: 'lambda:CreateAlias',
        resource: fleetFunction(s, regionOfSubject(s), name),
        why: `creating ${name}'s live alias once (authorized on the function)`,
      })),
    outside: (s) => [
      {
        action: 'lambda:UpdateAlias',
        resource: fleetFunction(s, regionOfSubject(s), 'items'),
        why: 'moving the live alias at deploy (deploy is not release)',
      },
      {
        action: 'lambda:CreateAlias',
        resource: arns.lambda(
          s.environment,
          regionOfSubject(s),
          fleetFunctionNameOf({ name: `${s.environment.name}x` }, 'items')
        ),
        why: 'an alias of another environment’s function',
      },
    ],
  },
  // The location records (every location) and the environment definition (control plane).
  {
    ...tableCall(
      'deploy',
      'dynamodb:UpdateItem',
      ['lib/constructs/location-record.ts'],
      (s) => [locationPk(s)],
      (s) => [otherLocationPk(s), 'CONTROL', 'ITEMS']
    ),
    appliesTo: (s) => s.location !== undefined,
  },
  {
    // A region location adopts its first release once; the control plane records its environment.
    ...tableCall(
      'deploy',
      'dynamodb:PutItem',
      ['lib/constructs/location-record.ts', 'lib/stacks/control-plane-stack.ts'],
      (s) => (s.location ? [locationPk(s)] : [keys.environmentDefinition.pk]),
      (s) =>
        s.location
          ? [otherLocationPk(s), 'CONTROL', 'ITEMS']
          : [keys.rollout('ro-1').pk, 'ITEMS', otherLocationPk(s)]
    ),
    appliesTo: (s) => s.location === undefined || s.location.kind === 'region',
  },

  // The deploy-time release signer: kms:Sign on the release key, and nothing else of KMS.
  {
    component: 'release-signer',
    commands: ['SignCommand'],
    source: ['lib/constructs/release-signature.ts'],
    requests: (s) => [
      {
        action: 'kms:Sign',
        resource: releaseKeyOf(s),
        why: 'signing the release a deploy stages (authorized on the key ARN)',
      },
    ],
    outside: (s) => [
      {
        action: 'kms:Sign',
        resource: releaseKeyOf(s).replace(/key\/.*$/, 'key/another-key'),
        why: 'signing with another key',
      },
      {
        action: 'kms:Sign',
        resource: releaseKeyOf(s).replace(`:${s.environment.homeRegion}:`, `:${OUTSIDE_REGION}:`),
        why: 'a key of that id in another region',
      },
      {
        action: 'kms:ScheduleKeyDeletion',
        resource: releaseKeyOf(s),
        why: 'deleting the release key',
      },
    ],
  },

  // EventBridge Scheduler invokes the orchestrator.
  {
    component: 'scheduler',
    commands: [],
    source: ['lib/stacks/control-plane-stack.ts'],
    requests: (s) => [
      {
        action: 'lambda:InvokeFunction',
        resource: orchestratorArn(s),
        why: 'a scheduled pass',
      },
      ...(s.queueArn
        ? [
            {
              action: 'sqs:SendMessage',
              resource: s.queueArn,
              why: 'a failed invocation, dead-lettered',
            },
          ]
        : []),
    ],
    outside: (s) => [
      {
        action: 'lambda:InvokeFunction',
        resource: fleetFunction(s, s.environment.homeRegion, 'items'),
        why: 'invoking a fleet function',
      },
      ...(s.queueArn
        ? [
            {
              action: 'sqs:ReceiveMessage',
              resource: s.queueArn,
              why: 'reading the dead letters',
            },
          ]
        : []),
    ],
  },

  // Lambda writes each function's logs with the function's role (its own log group only).
  ...(['function', 'orchestrator'] as const).map(
    (component): AwsCall => ({
      component,
      commands: [],
      source: ['lib/constructs/orbit-function.ts'],
      requests: (s) =>
        (['logs:CreateLogStream', 'logs:PutLogEvents'] as const).map((action) => ({
          action,
          resource: arns.logStream(
            s.environment,
            regionOfSubject(s),
            `/aws/lambda/${lambdaNameOf(s)}`
          ),
          why: `${action} in its own log group (authorized on the log stream)`,
        })),
      outside: (s) => [
        {
          action: 'logs:PutLogEvents',
          resource: arns.logStream(
            s.environment,
            regionOfSubject(s),
            `/aws/lambda/${lambdaNameOf(s)}x`
          ),
          why: 'writing into another log group',
        },
        {
          action: 'logs:DeleteLogGroup',
          resource: `arn:aws:logs:${regionOfSubject(s)}:${s.environment.account}:log-group:/aws/lambda/${lambdaNameOf(s)}`,
          why: 'deleting its logs',
        },
      ],
    })
  ),

  // VPC Flow Logs deliver a satellite network's records ("IAM role for publishing flow logs
  // to CloudWatch Logs", Amazon VPC user guide).
  {
    component: 'flow-logs',
    commands: [],
    source: ['lib/constructs/satellite-network.ts'],
    requests: (s) => [
      ...(['logs:CreateLogStream', 'logs:PutLogEvents'] as const).map((action) => ({
        action,
        resource: arns.logStream(s.environment, regionOfSubject(s), s.logGroupName ?? ''),
        why: `${action} in the flow log group`,
      })),
      {
        action: 'logs:DescribeLogStreams',
        resource: `arn:aws:logs:${regionOfSubject(s)}:${s.environment.account}:log-group:${s.logGroupName}`,
        why: 'finding its log streams',
      },
      {
        action: 'logs:DescribeLogGroups',
        resource: '*',
        why: 'finding its log group (no resource)',
      },
    ],
    outside: (s) => [
      {
        action: 'logs:PutLogEvents',
        resource: arns.logStream(s.environment, regionOfSubject(s), '/aws/lambda/orbit-x'),
        why: 'writing into another log group',
      },
    ],
  },

  // The `orbit` CLI against AWS (the operator policy in the README).
  {
    component: 'operator',
    commands: ['InvokeCommand'],
    source: ['lib/cli/target.ts'],
    requests: (s) => [
      {
        action: 'lambda:InvokeFunction',
        resource: orchestratorArn(s),
        why: 'waking the orchestrator after a command, or running its governance job (both InvokeFunction, Event or RequestResponse)',
      },
    ],
    outside: (s) => [
      {
        action: 'lambda:InvokeFunction',
        resource: fleetFunction(s, s.environment.homeRegion, 'items'),
        why: 'invoking a fleet function directly',
      },
      {
        action: 'lambda:UpdateAlias',
        resource: fleetFunction(s, s.environment.homeRegion, 'items'),
        why: 'moving traffic around the orchestrator',
      },
    ],
  },
  {
    // `orbit logs` in AWS regions. FilterLogEvents is authorized on the log group (Service
    // Authorization Reference, CloudWatch Logs: resource type log-group*).
    component: 'operator',
    commands: ['FilterLogEventsCommand'],
    source: ['lib/cli/logs.ts'],
    requests: (s) =>
      fleetRegions(s).map((region) => ({
        action: 'logs:FilterLogEvents',
        resource: `arn:aws:logs:${region}:${s.environment.account}:log-group:/aws/lambda/${fleetFunctionNameOf(s.environment, 'items')}`,
        why: `orbit logs: the items function's log group in ${region}`,
      })),
    outside: (s) => [
      {
        action: 'logs:FilterLogEvents',
        resource: `arn:aws:logs:${s.environment.homeRegion}:${s.environment.account}:log-group:/aws/lambda/${fleetFunctionNameOf({ name: `${s.environment.name}x` }, 'items')}`,
        why: "another environment's function logs",
      },
      {
        action: 'logs:DeleteLogGroup',
        resource: `arn:aws:logs:${s.environment.homeRegion}:${s.environment.account}:log-group:/aws/lambda/${fleetFunctionNameOf(s.environment, 'items')}`,
        why: 'orbit logs only reads',
      },
    ],
  },
  {
    component: 'operator',
    // STS answers GetCallerIdentity to any signed request: no permission is involved.
    commands: ['GetCallerIdentityCommand'],
    source: ['lib/cli/target.ts'],
    requests: () => [],
    outside: () => [],
  },
  ...(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'] as const).map((action) =>
    tableCall(
      'operator',
      action,
      ['lib/cli/commands.ts', 'core/records/'],
      controlPartitions,
      appData,
      (s) => s.environment.homeRegion
    )
  ),
  // Commands are intents the orchestrator carries out: an operator writes nothing else.
  tableCall(
    'operator',
    'dynamodb:PutItem',
    ['core/records/intents.ts'],
    () => [keys.intent(0, 'i').pk],
    (s) => [
      keys.environmentDefinition.pk,
      keys.rollout('ro-1').pk,
      keys.location(s.environment.locations[0]?.id ?? 'x').pk,
      keys.finding('drift', 'x').pk,
      'ITEMS',
    ],
    (s) => s.environment.homeRegion
  ),
  ...preflightRows(),
];

/**
 * SDK commands that only local stores receive (the local fleet's, the tests', the
 * benchmarks': `core/records/schema.ts`), never AWS: there the global-state stack owns the table.
 */
export const LOCAL_ONLY_COMMANDS: readonly string[] = [
  'CreateTableCommand',
  'DescribeTableCommand',
];
