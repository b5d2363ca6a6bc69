// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ARN formats are written as the Service Authorization Reference writes them, with ${Variable} placeholders; they are data, not templates.
/**
 * The ARN formats of the resource types Orbit's policies name, per IAM service prefix, as the
 * Service Authorization Reference lists them ("Resource types defined by …"). A test compares
 * every row with the reference's published data, so the table cannot drift from it.
 */
export const ARN_FORMATS: readonly (readonly [prefix: string, type: string, format: string])[] = [
  ['lambda', 'function', 'arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}'],
  [
    'lambda',
    'function alias',
    'arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}:${Alias}',
  ],
  [
    'lambda',
    'function version',
    'arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}:${Version}',
  ],
  ['dynamodb', 'table', 'arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}'],
  [
    'dynamodb',
    'index',
    'arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}',
  ],
  [
    'dynamodb',
    'stream',
    'arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/stream/${StreamLabel}',
  ],
  ['logs', 'log-group', 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}'],
  [
    'logs',
    'log-stream',
    'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}',
  ],
  ['cloudwatch', 'alarm', 'arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}'],
  ['sqs', 'queue', 'arn:${Partition}:sqs:${Region}:${Account}:${QueueName}'],
  ['events', 'event-bus', 'arn:${Partition}:events:${Region}:${Account}:event-bus/${EventBusName}'],
  ['s3', 'bucket', 'arn:${Partition}:s3:::${BucketName}'],
  ['s3', 'object', 'arn:${Partition}:s3:::${BucketName}/${ObjectName}'],
  ['iam', 'role', 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}'],
  ['iam', 'policy', 'arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}'],
  [
    'iam',
    'instance-profile',
    'arn:${Partition}:iam::${Account}:instance-profile/${InstanceProfileNameWithPath}',
  ],
  [
    'execute-api',
    'execute-api-general',
    'arn:${Partition}:execute-api:${Region}:${Account}:${ApiId}/${Stage}/${Method}/${ApiSpecificResourcePath}',
  ],
  [
    'ssm',
    'parameter',
    'arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}',
  ],
  [
    'scheduler',
    'schedule',
    'arn:${Partition}:scheduler:${Region}:${Account}:schedule/${GroupName}/${ScheduleName}',
  ],
  [
    'scheduler',
    'schedule-group',
    'arn:${Partition}:scheduler:${Region}:${Account}:schedule-group/${GroupName}',
  ],
  ['ec2', 'instance', 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}'],
  [
    'ec2',
    'launch-template',
    'arn:${Partition}:ec2:${Region}:${Account}:launch-template/${LaunchTemplateId}',
  ],
  [
    'ec2',
    'security-group',
    'arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}',
  ],
  ['ec2', 'subnet', 'arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}'],
  [
    'ec2',
    'network-interface',
    'arn:${Partition}:ec2:${Region}:${Account}:network-interface/${NetworkInterfaceId}',
  ],
  ['ec2', 'volume', 'arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}'],
  ['ec2', 'image', 'arn:${Partition}:ec2:${Region}::image/${ImageId}'],
  ['ec2', 'vpc', 'arn:${Partition}:ec2:${Region}:${Account}:vpc/${VpcId}'],
  ['kms', 'key', 'arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}'],
  ['kms', 'alias', 'arn:${Partition}:kms:${Region}:${Account}:alias/${Alias}'],
  ['acm', 'certificate', 'arn:${Partition}:acm:${Region}:${Account}:certificate/${CertificateId}'],
  [
    'elasticloadbalancing',
    'loadbalancer/app/',
    'arn:${Partition}:elasticloadbalancing:${Region}:${Account}:loadbalancer/app/${LoadBalancerName}/${LoadBalancerId}',
  ],
  [
    'elasticloadbalancing',
    'targetgroup',
    'arn:${Partition}:elasticloadbalancing:${Region}:${Account}:targetgroup/${TargetGroupName}/${TargetGroupId}',
  ],
  [
    'elasticloadbalancing',
    'listener/app',
    'arn:${Partition}:elasticloadbalancing:${Region}:${Account}:listener/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}',
  ],
  [
    'autoscaling',
    'autoscalinggroup',
    'arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:${GroupId}:autoScalingGroupName/${GroupFriendlyName}',
  ],
];

/**
 * Lambda actions that Lambda authorizes on the unqualified function ARN (Lambda Developer
 * Guide, "Fine-tuning the Resources and Conditions sections of policies": alias and version
 * management act on the function). A statement that names them on an alias or version ARN
 * matches no request.
 */
export const LAMBDA_UNQUALIFIED_ACTIONS: readonly string[] = [
  'lambda:CreateAlias',
  'lambda:DeleteAlias',
  'lambda:GetAlias',
  'lambda:ListAliases',
  'lambda:UpdateAlias',
  'lambda:PublishVersion',
  'lambda:ListVersionsByFunction',
];

/** Values a format's variables take; a variable not listed is one ARN segment. */
const VARIABLE_PATTERNS: Readonly<Record<string, string>> = {
  Partition: 'aws(?:-[a-z]+)*',
  // `x` stands for a wildcard (see `formatMatches`).
  Region: '(?:[a-z]{2}(?:-[a-z]+)+-\\d|x)',
  Account: '(?:\\d{12}|x|aws|)',
  ObjectName: '.+',
  LogGroupName: '.+',
  LogStreamName: '.+',
  ApiSpecificResourcePath: '.*',
  ParameterNameWithoutLeadingSlash: '.+',
  RoleNameWithPath: '.+',
  PolicyNameWithPath: '.+',
  InstanceProfileNameWithPath: '.+',
};

const compiled = new Map<string, RegExp>();

function formatRegex(format: string): RegExp {
  let regex = compiled.get(format);
  if (!regex) {
    const source = format
      .split(/(\$\{[A-Za-z]+\})/)
      .map((part) => {
        const variable = /^\$\{([A-Za-z]+)\}$/.exec(part)?.[1];
        if (variable) return VARIABLE_PATTERNS[variable] ?? '[^:/]+';
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    regex = new RegExp(`^${source}$`);
    compiled.set(format, regex);
  }
  return regex;
}

/**
 * True when an ARN, as a policy writes it (with `*` and `?` wildcards), is of `format`. A
 * wildcard stands for one value of whatever the format puts there.
 */
export function formatMatches(format: string, arn: string): boolean {
  return formatRegex(format).test(arn.replace(/[*?]+/g, 'x'));
}

/** ARN_FORMATS by service segment, grouped once: synth asks for the formats of every ARN. */
const formatsByService = new Map<string, (readonly [string, string, string])[]>();
for (const row of ARN_FORMATS) {
  const service = row[2].split(':')[2] ?? '';
  formatsByService.set(service, [...(formatsByService.get(service) ?? []), row]);
}

/** The formats of the resource types whose ARNs carry `service` as their service segment. */
export function formatsOfService(service: string): readonly (readonly [string, string, string])[] {
  return formatsByService.get(service) ?? [];
}

/** Compiled patterns: synth checks every policy's patterns against every ARN of the fleet. */
const compiledPatterns = new Map<string, RegExp>();

/** IAM's matching of a resource pattern (with `*` and `?`) against an ARN. */
export function arnPatternMatches(pattern: string, arn: string): boolean {
  let compiled = compiledPatterns.get(pattern);
  if (!compiled) {
    const source = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    compiled = new RegExp(`^${source}$`);
    compiledPatterns.set(pattern, compiled);
  }
  return compiled.test(arn);
}
