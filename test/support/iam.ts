import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AuthorizedRequest } from '../../lib/aws-calls';

/** A synthesized stack: what CloudFormation would deploy, and where. */
export interface DeployedTemplate {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: any;
}

/** An IAM policy document with every intrinsic resolved. */
export type PolicyDocument = { Version?: string; Statement: unknown[] };

/**
 * AWS managed policies the templates attach, as AWS publishes them (IAM console, "AWS managed
 * policies"), so that simulations see what the role really holds.
 */
const MANAGED_POLICIES: Record<string, PolicyDocument> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
};

/** The physical name CloudFormation gives a resource: its name property, or a generated one. */
function physicalName(stack: DeployedTemplate, logicalId: string): string {
  const resource = stack.template.Resources?.[logicalId];
  if (!resource) throw new Error(`${stack.stackName}: no resource ${logicalId}`);
  const p = resource.Properties ?? {};
  const named =
    p.FunctionName ?? p.LogGroupName ?? p.RoleName ?? p.QueueName ?? p.TableName ?? p.BucketName;
  if (named !== undefined) return String(resolve(stack, named));
  return `${stack.stackName}-${logicalId}-GENERATED`;
}

/** `Fn::GetAtt [X, Arn]`, as CloudFormation returns it for the resource types Orbit uses. */
function arnOf(stack: DeployedTemplate, logicalId: string): string {
  const type = stack.template.Resources?.[logicalId]?.Type as string;
  const name = physicalName(stack, logicalId);
  const { region, account } = stack;
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${account}:function:${name}`;
    case 'AWS::Logs::LogGroup':
      // The log group's Arn attribute ends in `:*` (AWS::Logs::LogGroup return values).
      return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${account}:role/${name}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${account}:${name}`;
    case 'AWS::DynamoDB::GlobalTable':
      return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${region}:${account}:key/${name}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    default:
      throw new Error(`${stack.stackName}: no ARN rule for ${type} (${logicalId})`);
  }
}

/**
 * Resolves CloudFormation intrinsics the way a deploy would, for the pseudo parameters and
 * resource attributes policies use (`Ref`, `Fn::GetAtt … Arn`, `Fn::Join`, `Fn::Sub`,
 * `Fn::Select`, `Fn::Split`). Anything else throws: a policy the resolver cannot read is a
 * policy the test cannot vouch for.
 */
export function resolve(stack: DeployedTemplate, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(stack, v));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [first] = entries;
  if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
    const [fn, arg] = first;
    switch (fn) {
      case 'Ref':
        return ref(stack, arg as string);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = arg as [string, string];
        if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${logicalId}.${attribute}`);
        return arnOf(stack, logicalId);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolve(stack, parts) as unknown[]).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number, unknown];
        return (resolve(stack, list) as unknown[])[index];
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return String(resolve(stack, text)).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [
          string,
          Record<string, unknown>,
        ];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (name in vars) return String(resolve(stack, vars[name]));
          if (name.includes('.')) return arnOf(stack, name.split('.')[0] as string);
          return String(ref(stack, name));
        });
      }
      default:
        throw new Error(`${stack.stackName}: cannot resolve ${fn}`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(stack, v)]));
}

function ref(stack: DeployedTemplate, name: string): string {
  switch (name) {
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::AccountId':
      return stack.account;
    case 'AWS::Region':
      return stack.region;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return stack.stackName;
    default:
      return physicalName(stack, name);
  }
}

const refersTo = (refs: unknown, logicalId: string): boolean =>
  Array.isArray(refs) && refs.some((r) => (r as { Ref?: string })?.Ref === logicalId);

/**
 * Every identity policy a role holds in its template: inline policies, `AWS::IAM::Policy`
 * and `AWS::IAM::ManagedPolicy` resources attached to it, and AWS managed policies.
 */
export function rolePolicies(stack: DeployedTemplate, roleLogicalId: string): PolicyDocument[] {
  const resources = stack.template.Resources as Record<string, any>;
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const inline = (role.Properties.Policies ?? []).map((p: any) => p.PolicyDocument);
  const attached = Object.values(resources)
    .filter(
      (r) =>
        (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
        refersTo(r.Properties.Roles, roleLogicalId)
    )
    .map((r) => r.Properties.PolicyDocument);
  const managed = (resolve(stack, role.Properties.ManagedPolicyArns ?? []) as string[]).map(
    (arn) => {
      const policy = MANAGED_POLICIES[arn];
      if (!policy) throw new Error(`unknown managed policy ${arn}: add it to test/support/iam.ts`);
      return policy;
    }
  );
  return [...inline, ...attached].map((p) => resolve(stack, p) as PolicyDocument).concat(managed);
}

/** The trust policy of a role, resolved. */
export function trustPolicy(stack: DeployedTemplate, roleLogicalId: string): PolicyDocument {
  const role = stack.template.Resources[roleLogicalId];
  return resolve(stack, role.Properties.AssumeRolePolicyDocument) as PolicyDocument;
}

/** Logical ids of the resources of `type` whose properties satisfy `match`. */
export function logicalIds(
  stack: DeployedTemplate,
  type: string,
  match: (properties: any, logicalId: string) => boolean = () => true
): string[] {
  return Object.entries(stack.template.Resources as Record<string, any>)
    .filter(([id, r]) => r.Type === type && match(r.Properties ?? {}, id))
    .map(([id]) => id);
}

/** The role of the Lambda function named `functionName` in the stack. */
export function roleOfFunction(stack: DeployedTemplate, functionName: string): string {
  const [fn] = logicalIds(
    stack,
    'AWS::Lambda::Function',
    (p) => resolve(stack, p.FunctionName) === functionName
  );
  if (!fn) throw new Error(`${stack.stackName}: no function ${functionName}`);
  const role = stack.template.Resources[fn].Properties.Role;
  const roleId = role?.['Fn::GetAtt']?.[0] as string | undefined;
  if (!roleId) throw new Error(`${functionName}: its role is not a resource of the stack`);
  return roleId;
}

/** What IAM decides for one request. */
export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | string;

/**
 * Simulates one request with @cloud-copilot/iam-simulate (the IAM policy evaluation logic:
 * identity policies, and the resource policy when there is one, e.g. a role's trust policy).
 */
export async function decide(
  request: AuthorizedRequest,
  identityPolicies: readonly PolicyDocument[],
  options: { account: string; principal?: string; resourcePolicy?: PolicyDocument }
): Promise<Decision> {
  const principal = options.principal ?? `arn:aws:iam::${options.account}:role/orbit-under-test`;
  const result = await runSimulation(
    {
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: options.account },
        contextVariables: {
          // AWS sets it in every request: the caller's role (or user) ARN, not its session's.
          'aws:PrincipalArn': principal,
          ...Object.fromEntries(
            Object.entries(request.context ?? {}).map(([k, v]) => [
              k,
              typeof v === 'string' ? v : [...v],
            ])
          ),
        },
      },
      identityPolicies: identityPolicies.map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
    },
    {}
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${request.action} failed: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult;
}
