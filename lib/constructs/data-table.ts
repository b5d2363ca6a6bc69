import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Environment } from '../../core/environment/schema';
import { tableNameOf } from '../../core/names';

/**
 * The environment's global table in `region` (a location's data region), by name and ARN.
 * Referenced by name, not by the global-state stack's export: no cross-region references.
 */
export function dataTable(
  scope: Construct,
  env: Environment,
  region: string
): { tableName: string; tableArn: string } {
  const tableName = tableNameOf(env);
  const tableArn = Stack.of(scope).formatArn({
    service: 'dynamodb',
    region,
    resource: 'table',
    resourceName: tableName,
  });
  return { tableName, tableArn };
}
