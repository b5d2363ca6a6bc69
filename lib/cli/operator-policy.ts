import { keys } from '../../functions/shared/keys';
import { orchestratorNameOf, tableNameOf } from '../config/fleet';
import type { Environment } from '../config/schema';

/** An IAM policy document. */
export interface IamPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Record<string, unknown>[];
}

/** The partitions of the control records the CLI reads. */
export const OPERATOR_READ_PARTITIONS = [
  keys.environmentDefinition.pk,
  'ROLLOUT#*',
  'INTENTS',
  'AUDIT',
  'FINDINGS',
  'LOCATION#*',
  'FUNCTION#*',
] as const;

/**
 * The identity policy an operator needs to run the `orbit` CLI against an AWS environment:
 * read the control records in the home region's table, submit commands as intents (the
 * orchestrator carries them out, so an operator writes nothing else), and wake the
 * orchestrator. Printed by `orbit operator-policy --env NAME`; the IAM tests simulate it.
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
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...OPERATOR_READ_PARTITIONS] },
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
    ],
  };
}
