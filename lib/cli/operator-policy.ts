import { regionLocations } from '../../core/environment/fleet';
import type { Environment } from '../../core/environment/schema';
import {
  fleetFunctionPrefix,
  orchestratorNameOf,
  satelliteRoleNameOf,
  tableNameOf,
} from '../../core/names';
import { PLATFORM_PARTITIONS } from '../../core/records/keys';
import { preflightCalls } from './preflight';

/** An IAM policy document. */
export interface IamPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Record<string, unknown>[];
}

/**
 * The identity policy an operator needs to run the `orbit` CLI against an AWS environment:
 * read the control records in the home region's table, submit commands as intents (the
 * orchestrator carries them out, so an operator writes nothing else), wake the orchestrator,
 * and run `orbit preflight` (read-only calls, on the resources they are authorized on).
 * Printed by `orbit operator-policy --env NAME`; the IAM tests simulate it.
 */
export function operatorPolicy(env: Environment): IamPolicy {
  const table = `arn:aws:dynamodb:${env.homeRegion}:${env.account}:table/${tableNameOf(env)}`;
  const orchestrator = `arn:aws:lambda:${env.homeRegion}:${env.account}:function:${orchestratorNameOf(env)}`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadControlRecords',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Resource: table,
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...PLATFORM_PARTITIONS] },
        },
      },
      {
        Sid: 'SubmitIntents',
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: table,
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['INTENTS'] } },
      },
      {
        Sid: 'WakeOrchestrator',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: orchestrator,
      },
      {
        // `orbit logs` in AWS regions: FilterLogEvents is authorized on the log group.
        Sid: 'ReadFunctionLogs',
        Effect: 'Allow',
        Action: 'logs:FilterLogEvents',
        Resource: [...new Set(regionLocations(env).map((l) => l.region))].map(
          (region) =>
            `arn:aws:logs:${region}:${env.account}:log-group:/aws/lambda/${fleetFunctionPrefix(env)}*`
        ),
      },
      ...preflightStatements(env),
    ],
  };
}

/** One statement per resource set: the actions with no resource-level permission on `*`. */
function preflightStatements(env: Environment): Record<string, unknown>[] {
  const byActions = new Map<string, Set<string>>();
  for (const call of preflightCalls(env)) {
    // Invoking the orchestrator is WakeOrchestrator; GetCallerIdentity needs no permission.
    if (call.action === 'lambda:InvokeFunction' || call.action === 'sts:GetCallerIdentity')
      continue;
    byActions.set(call.action, (byActions.get(call.action) ?? new Set()).add(call.resource));
  }
  const grouped = new Map<string, string[]>();
  for (const [action, resources] of byActions) {
    const key = [...resources].sort().join(' ');
    grouped.set(key, [...(grouped.get(key) ?? []), action]);
  }
  return [...grouped].map(([resources, actions], i) => ({
    Sid: `Preflight${i + 1}`,
    Effect: 'Allow',
    Action: actions.sort(),
    Resource: resources.split(' '),
  }));
}

/**
 * The identity policy of an on-prem site's host principal (an IAM user or role the site's
 * operators manage, tagged `orbit:environment` and `orbit:location`): it may assume its
 * location's runtime role, whose trust policy admits only principals with those tags.
 */
export function onPremHostPolicy(env: Environment, locationId: string): IamPolicy {
  const location = env.locations.find((l) => l.id === locationId);
  if (location?.kind !== 'on-prem') {
    const sites = env.locations.filter((l) => l.kind === 'on-prem').map((l) => l.id);
    throw new Error(
      `--location must name an on-prem location of ${env.name} (${sites.join(', ') || 'it has none'})`
    );
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AssumeLocationRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: `arn:aws:iam::${env.account}:role/${satelliteRoleNameOf(env, location)}`,
      },
    ],
  };
}
