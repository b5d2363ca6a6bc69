import type { Fleet } from './fleet';
import { partitionOf, type Resolver } from './intrinsics';
import type { DeployabilityRule, Finding } from './rule';
import { type CfnResource, pathOf, resourcesOf, type StackTemplate } from './template';

/** Something a resource creates that other resources name: an alias, a version, a table replica. */
interface Created {
  readonly stack: StackTemplate;
  readonly logicalId: string;
  readonly what: 'alias' | 'version' | 'table replica';
  /** The strings (ARNs and names) that name it, as the resolver reads them. */
  readonly names: readonly string[];
  /**
   * Names that mean it only in one region (`function:alias` names the alias of that region's
   * function), with that region.
   */
  readonly regional?: { readonly name: string; readonly region: string };
}

const isCustomResource = (r: CfnResource) =>
  r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource';

function alias(
  resolver: Resolver,
  logicalId: string,
  functionName: string,
  qualifier: string,
  region: string
): Created {
  const stack = resolver.of;
  const name = functionName.startsWith('arn:')
    ? functionName.slice(functionName.indexOf(':function:') + ':function:'.length)
    : functionName;
  return {
    stack,
    logicalId,
    what: 'alias',
    names: [
      `arn:${partitionOf(region)}:lambda:${region}:${stack.account}:function:${name}:${qualifier}`,
    ],
    regional: { name: `${name}:${qualifier}`, region },
  };
}

/** What one resource creates, if it creates an alias, a version or table replicas. */
function createdBy(resolver: Resolver, logicalId: string, r: CfnResource): Created | undefined {
  const stack = resolver.of;
  const props = r.Properties ?? {};
  const text = (v: unknown) => resolver.resolve(v)?.text ?? '';
  const created = (what: Created['what'], names: string[]): Created => ({
    stack,
    logicalId,
    what,
    names,
  });
  if (r.Type === 'AWS::Lambda::Alias') {
    return alias(resolver, logicalId, text(props.FunctionName), text(props.Name), stack.region);
  }
  if (r.Type === 'AWS::Lambda::Version') {
    return created('version', [text({ Ref: logicalId })]);
  }
  if (r.Type === 'AWS::DynamoDB::GlobalTable' || r.Type === 'AWS::DynamoDB::Table') {
    const tableName = text({ Ref: logicalId });
    const replicas = Array.isArray(props.Replicas)
      ? props.Replicas.map((rep) => text((rep as { Region?: unknown }).Region))
      : [stack.region];
    return created('table replica', [
      tableName,
      ...replicas.map(
        (region) =>
          `arn:${partitionOf(region)}:dynamodb:${region}:${stack.account}:table/${tableName}`
      ),
    ]);
  }
  if (isCustomResource(r)) {
    // An AwsCustomResource that calls Lambda CreateAlias (Orbit's LiveAlias) creates an alias.
    const call = resolver.sdkCall(props.Create);
    const params = call?.parameters as { FunctionName?: unknown; Name?: unknown } | undefined;
    const isCreateAlias =
      /lambda/i.test(String(call?.service)) && /^createalias/i.test(String(call?.action));
    if (
      isCreateAlias &&
      typeof params?.FunctionName === 'string' &&
      typeof params.Name === 'string'
    ) {
      const region = typeof call?.region === 'string' ? call.region : stack.region;
      return alias(resolver, logicalId, params.FunctionName, params.Name, region);
    }
  }
  return undefined;
}

/**
 * Metric dimensions are labels: CloudWatch takes an alarm on a metric nobody has published
 * yet (its state is INSUFFICIENT_DATA), so an alarm on `fn:live` needs no alias to exist.
 */
const isLabel = (r: CfnResource, location: string) =>
  r.Type.startsWith('AWS::CloudWatch::') && location.includes('/Dimensions/');

/**
 * Every string a resource's properties pass to AWS, with where it sits, as the resolver
 * reads it, appended to `into` in document order.
 */
function collectStrings(
  resolver: Resolver,
  value: unknown,
  location: string,
  into: [string, string][]
): [string, string][] {
  if (Array.isArray(value)) {
    for (const [i, child] of value.entries()) {
      collectStrings(resolver, child, `${location}/${i}`, into);
    }
    return into;
  }
  const resolved = resolver.resolve(value);
  if (resolved !== undefined) {
    into.push([location, resolved.text]);
    // AwsCustomResource passes its SDK call as one JSON string: read the parameters inside.
    if (resolved.text.startsWith('{')) {
      const call = resolver.parseSdkCall(resolved.text);
      if (call) collectStrings(resolver, call, location, into);
    }
    return into;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      collectStrings(resolver, child, `${location}/${key}`, into);
    }
  }
  return into;
}

/** A table's sub-resources (`…/table/NAME/index/…`, `…/stream/…`) name the table too. */
const candidates = (text: string) =>
  text.startsWith('arn:') && text.includes(':table/')
    ? [text, text.split('/').slice(0, 2).join('/')]
    : [text];

function findingFor(
  fleet: Fleet,
  created: Created,
  consumer: { stack: StackTemplate; logicalId: string; locations: string[]; name: string }
): Finding | undefined {
  const { stack, logicalId, locations, name } = consumer;
  const where = locations.join(', ');
  if (stack === created.stack) {
    if (fleet.createdAfter(stack, logicalId, created.logicalId)) return undefined;
    const creator = pathOf(stack, created.logicalId);
    return {
      rule: dependsOnCreator.id,
      stack,
      logicalId,
      locations,
      message: `${pathOf(stack, logicalId)} names the ${created.what} \`${name}\` (${where}) but does not depend on ${creator}, which creates it: CloudFormation orders resources only by DependsOn, Ref, Fn::GetAtt and Fn::Sub (CloudFormation User Guide, "DependsOn attribute"), so a first deploy may create this one first and fail.`,
      fix: `Name the ${created.what} through the resource that creates it (LiveAlias.aliasArn is built from its custom resource's Ref), or add a DependsOn with CfnResource.addDependency on this resource's L1; node.addDependency on an imported construct adds nothing to the template.`,
    };
  }
  if (fleet.stackDeploysAfter(stack, created.stack)) return undefined;
  return {
    rule: dependsOnCreator.id,
    stack,
    logicalId,
    locations,
    message: `${pathOf(stack, logicalId)} names the ${created.what} \`${name}\` (${where}), which stack ${created.stack.stackName} creates, but stack ${stack.stackName} is not deployed after it: the CDK deploys stacks without a dependency in any order, concurrently with --concurrency (AWS CDK Toolkit reference, cdk deploy).`,
    fix: `Add \`${stack.constructPath}.addStackDependency(${created.stack.constructPath})\` where the stacks are composed (lib/app.ts, addOrbitEnvironment).`,
  };
}

/**
 * Orbit-DependsOnCreator: a resource that names an alias, a version or a table replica (by ARN
 * or name, as a string or through intrinsics) is created after the resource that creates it:
 * in the same stack by DependsOn or a Ref/GetAtt/Sub chain, across stacks by a stack dependency.
 * Only exact names count: a wildcard in a policy needs nothing to exist.
 */
export const dependsOnCreator: DeployabilityRule = {
  id: 'Orbit-DependsOnCreator',
  doc: 'CloudFormation User Guide, "DependsOn attribute"; AWS CDK Toolkit reference, cdk deploy',
  check(fleet) {
    const created = fleet.stacks.flatMap((stack) => {
      const resolver = fleet.resolver(stack);
      return resourcesOf(stack).flatMap(([id, r]) => createdBy(resolver, id, r) ?? []);
    });
    const byName = new Map<string, Created[]>();
    for (const c of created) {
      const names = c.regional ? [...c.names, c.regional.name] : c.names;
      for (const name of names) byName.set(name, [...(byName.get(name) ?? []), c]);
    }
    const findings: Finding[] = [];
    for (const stack of fleet.stacks) {
      const resolver = fleet.resolver(stack);
      for (const [logicalId, r] of resourcesOf(stack)) {
        const named = new Map<Created, { name: string; locations: string[] }>();
        for (const [location, text] of collectStrings(
          resolver,
          r.Properties ?? {},
          'Properties',
          []
        )) {
          if (isLabel(r, location)) continue;
          for (const name of candidates(text)) {
            for (const c of byName.get(name) ?? []) {
              if (c.stack === stack && c.logicalId === logicalId) continue;
              if (c.regional?.name === name && c.regional.region !== stack.region) continue;
              const entry = named.get(c) ?? { name, locations: [] };
              if (!entry.locations.includes(location)) entry.locations.push(location);
              named.set(c, entry);
            }
          }
        }
        for (const [c, { name, locations }] of named) {
          const finding = findingFor(fleet, c, { stack, logicalId, locations, name });
          if (finding) findings.push(finding);
        }
      }
    }
    return findings;
  },
};
