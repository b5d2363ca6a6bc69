import {
  arnPatternMatches,
  formatMatches,
  formatsOfService,
  LAMBDA_UNQUALIFIED_ACTIONS,
} from './arn-formats';
import type { Fleet } from './fleet';
import { isLiteral } from './intrinsics';
import type { DeployabilityRule, Finding } from './rule';
import { type CfnResource, pathOf, resourcesOf, type StackTemplate } from './template';

const SAR = 'Service Authorization Reference, "Resource types defined by" each service';
const LAMBDA_DOC =
  'Lambda Developer Guide, "Fine-tuning the Resources and Conditions sections of policies"';

/** The policy documents a resource holds, with where each sits. */
function policyDocuments(r: CfnResource): [string, unknown][] {
  const props = r.Properties ?? {};
  if (r.Type === 'AWS::IAM::Role') {
    const policies = Array.isArray(props.Policies) ? props.Policies : [];
    return policies.map((p, i) => [
      `Properties/Policies/${i}/PolicyDocument`,
      (p as { PolicyDocument?: unknown }).PolicyDocument,
    ]);
  }
  return props.PolicyDocument === undefined
    ? []
    : [['Properties/PolicyDocument', props.PolicyDocument]];
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The resource types whose every name Orbit chooses (`orbit-<env>…`), with the part of an ARN
 * that names the resource: an ARN of these types in the environment's account that matches
 * nothing the app creates is a typo, a missing replica or a missing function.
 */
const OWNED: readonly { service: string; base: RegExp }[] = [
  { service: 'lambda', base: /^(arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+)/ },
  { service: 'dynamodb', base: /^(arn:[^:]+:dynamodb:[^:]+:[^:]+:table\/[^/]+)/ },
  { service: 'cloudwatch', base: /^(arn:[^:]+:cloudwatch:[^:]+:[^:]+:alarm:.+)$/ },
  { service: 'logs', base: /^(arn:[^:]+:logs:[^:]+:[^:]+:log-group:[^:]+)/ },
];

/** ARNs of the functions, table replicas, alarms and log groups the app creates by name. */
function createdArns(fleet: Fleet): string[] {
  return fleet.stacks.flatMap((stack) => {
    const resolver = fleet.resolver(stack);
    const arn = (service: string, resource: string, region = stack.region) =>
      `arn:aws:${service}:${region}:${stack.account}:${resource}`;
    return resourcesOf(stack).flatMap(([id, r]) => {
      const props = r.Properties ?? {};
      const name = resolver.resolve({ Ref: id })?.text ?? '';
      const text = (v: unknown) => resolver.resolve(v)?.text ?? '';
      switch (r.Type) {
        case 'AWS::Lambda::Function':
          return [arn('lambda', `function:${name}`)];
        case 'AWS::DynamoDB::GlobalTable':
          return asList(props.Replicas).map((rep) =>
            arn('dynamodb', `table/${name}`, text((rep as { Region?: unknown }).Region))
          );
        case 'AWS::DynamoDB::Table':
          return [arn('dynamodb', `table/${name}`)];
        case 'AWS::CloudWatch::Alarm':
        case 'AWS::CloudWatch::CompositeAlarm':
          return props.AlarmName === undefined
            ? []
            : [arn('cloudwatch', `alarm:${text(props.AlarmName)}`)];
        case 'AWS::Logs::LogGroup':
          return [arn('logs', `log-group:${name}`)];
        default:
          return [];
      }
    });
  });
}

/**
 * Whether an ARN pattern (with IAM's `*` and `?`) matches an ARN the app creates. Policies in
 * every location name ARNs and every location creates some: a pattern without wildcards is
 * looked up, and only one with wildcards is compared, with the ARNs that share its literal
 * start.
 */
function createdMatcher(created: readonly string[]): (pattern: string) => boolean {
  const exact = new Set(created);
  return (pattern) => {
    const wildcard = pattern.search(/[*?]/);
    if (wildcard === -1) return exact.has(pattern);
    const start = pattern.slice(0, wildcard);
    return created.some((arn) => arn.startsWith(start) && arnPatternMatches(pattern, arn));
  };
}

/** The literal part of the ARN, with the partition as `aws` so that created ARNs compare. */
const normalize = (arn: string) => arn.replace(/^arn:[^:]+:/, 'arn:aws:');

interface Entry {
  readonly stack: StackTemplate;
  readonly logicalId: string;
  readonly location: string;
  readonly actions: readonly string[];
  readonly arn: string;
}

function finding(entry: Entry, message: string, fix: string): Finding {
  return {
    rule: policyArns.id,
    stack: entry.stack,
    logicalId: entry.logicalId,
    locations: [entry.location],
    message: `${pathOf(entry.stack, entry.logicalId)}: ${message}`,
    fix,
  };
}

/** Statements naming a Lambda alias or version ARN for actions Lambda authorizes on the function. */
function qualifiedFunctionFinding(entry: Entry): Finding | undefined {
  const m = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+):(.+)$/.exec(entry.arn);
  if (!m) return undefined;
  const denied = entry.actions.filter((action) =>
    LAMBDA_UNQUALIFIED_ACTIONS.some((a) => arnPatternMatches(action.toLowerCase(), a.toLowerCase()))
  );
  if (denied.length === 0) return undefined;
  return finding(
    entry,
    `grants ${denied.join(', ')} on \`${entry.arn}\`, an alias or version ARN, but Lambda authorizes these actions on the unqualified function ARN (${LAMBDA_DOC}): the statement matches no request and every call is denied.`,
    `Name the function instead (\`…:function:${m[1]}\`, a wildcard over function names is fine); keep alias and version ARNs for lambda:InvokeFunction.`
  );
}

function literalArnFindings(entry: Entry, isCreated: (pattern: string) => boolean): Finding[] {
  const { arn } = entry;
  if (!arn.startsWith('arn:')) {
    return [
      finding(
        entry,
        `names \`${arn}\` as a resource, which is not an ARN: IAM matches statement resources against ARNs only.`,
        'Name the resource by its ARN (Stack.formatArn, or the construct that creates it), or `*` for actions without resource-level permissions.'
      ),
    ];
  }
  const service = arn.split(':')[2] ?? '';
  const formats = formatsOfService(service);
  if (formats.length === 0) {
    return [
      finding(
        entry,
        `names \`${arn}\`, of service \`${service}\`, whose ARN formats the deployability check does not know (${SAR}).`,
        `Add the service's resource ARN formats from the Service Authorization Reference to ARN_FORMATS (lib/governance/deployability/arn-formats.ts), or name a resource the app creates through its construct.`
      ),
    ];
  }
  if (!formats.some(([, , format]) => formatMatches(format, arn))) {
    const list = formats.map(([, type, format]) => `${type}: ${format}`).join('; ');
    return [
      finding(
        entry,
        `names \`${arn}\`, which is no resource ARN of ${service} (${SAR}: ${list}); IAM never matches it.`,
        'Build the ARN with Stack.formatArn, or take it from the construct that creates the resource (grant methods, `.xxxArn`).'
      ),
    ];
  }
  const account = arn.split(':')[4];
  const owned = OWNED.find((o) => o.service === service);
  const base = owned?.base.exec(normalize(arn))?.[1];
  if (account !== entry.stack.account || base === undefined) return [];
  if (isCreated(base)) return [];
  return [
    finding(
      entry,
      `names \`${arn}\` in the environment's account, but the app creates no ${service} resource that it matches: a typo, or a replica, function or alarm that does not exist where the statement looks.`,
      'Take the ARN from the construct that creates the resource, or correct the name or the region in it.'
    ),
  ];
}

/**
 * Orbit-PolicyArns: every ARN a policy statement names is either the app's own (a Ref or
 * GetAtt of one of its resources, or the known name of a function, table replica, alarm or log
 * group it creates) or of a resource type the Service Authorization Reference documents for
 * that service; and no statement grants an action Lambda authorizes on the function on an alias
 * or version ARN instead. Wildcard-only resources (`*`) are cdk-nag's concern (IAM5).
 */
export const policyArns: DeployabilityRule = {
  id: 'Orbit-PolicyArns',
  doc: `${SAR}; ${LAMBDA_DOC}`,
  check(fleet) {
    const isCreated = createdMatcher(createdArns(fleet));
    const findings: Finding[] = [];
    for (const stack of fleet.stacks) {
      const resolver = fleet.resolver(stack);
      for (const [logicalId, r] of resourcesOf(stack)) {
        for (const [docLocation, document] of policyDocuments(r)) {
          asList((document as { Statement?: unknown } | undefined)?.Statement).forEach((s, i) => {
            const statement = s as { Action?: unknown; Resource?: unknown };
            const actions = asList(statement.Action).map(String);
            asList(statement.Resource).forEach((resource, j) => {
              const resolved = resolver.resolve(resource);
              if (!resolved || resolved.text === '*') return;
              const entry: Entry = {
                stack,
                logicalId,
                location: `${docLocation}/Statement/${i}/Resource/${j}`,
                actions,
                arn: resolved.text,
              };
              const qualified = qualifiedFunctionFinding(entry);
              if (qualified) findings.push(qualified);
              // The app's own resource, named through its construct.
              if (resolved.refs.size > 0 || !isLiteral(resolved.text)) return;
              findings.push(...literalArnFindings(entry, isCreated));
            });
          });
        }
      }
    }
    return findings;
  },
};
