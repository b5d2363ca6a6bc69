import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Environment, environmentSchema } from '../../core/environment/schema';
import { requiredEnv } from '../../core/location-env';
import { Records } from '../../core/records';
import { createTableClient } from '../../core/records/table';
import { awsAdapters, type ControlPlane, createControlPlane } from './control-plane';

/** What a schedule sends: which job to run. */
export interface OrchestratorEvent {
  readonly job?: 'reconcile' | 'governance';
}

/**
 * Checks a stored environment definition against the environment schema. Throws naming
 * every field at fault: the orchestrator then refuses to act on a definition it cannot read.
 */
export function parseDefinition(definition: string): Environment {
  let raw: unknown;
  try {
    raw = JSON.parse(definition);
  } catch (err) {
    throw new Error(`the stored environment definition is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = environmentSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(environment)'}: ${i.message}`
    );
    throw new Error(
      `the stored environment definition is invalid (redeploy the control plane): ${problems.join('; ')}`
    );
  }
  return parsed.data;
}

/** A rollout event that missed a destination: the rollout goes on, the log says so. */
const logEventError = (err: unknown) =>
  console.error(
    JSON.stringify({ level: 'ERROR', message: 'rollout event not delivered', error: String(err) })
  );

/**
 * The control plane for the environment definition the control-plane stack recorded
 * (`CONTROL`/`ENVIRONMENT`): one release of the orchestrator serves every environment, so
 * its configuration is data. The definition is read on every invocation (one GetItem), so a
 * deploy that changes only waves or gates takes effect at the next run; the wiring is
 * rebuilt only when the definition changed.
 */
export function controlPlaneLoader(
  table: DynamoDBDocumentClient,
  tableName: string
): () => Promise<ControlPlane> {
  const records = new Records(table, tableName);
  let current: { definition: string; plane: ControlPlane } | undefined;
  return async () => {
    const definition = await records.definition.get();
    if (definition === undefined)
      throw new Error('the environment definition is missing from the table');
    if (current?.definition !== definition) {
      const env = parseDefinition(definition);
      current = {
        definition,
        plane: createControlPlane(env, records, awsAdapters(env, records), {
          onEventError: logEventError,
        }),
      };
    }
    return current.plane;
  };
}

const controlPlane = controlPlaneLoader(
  createTableClient({ region: requiredEnv('AWS_REGION') }),
  requiredEnv('ORBIT_TABLE_NAME')
);

/** Runs one reconcile pass (every minute) or the governance jobs (on their schedule). */
export const handler = async (event: OrchestratorEvent = {}) => {
  const plane = await controlPlane();
  if (event.job === 'governance') {
    const open = await plane.governance();
    return { job: 'governance', openFindings: open.length };
  }
  const report = await plane.orchestrator.reconcile();
  console.log(JSON.stringify({ job: 'reconcile', events: report.events }));
  return { job: 'reconcile', events: report.events };
};
