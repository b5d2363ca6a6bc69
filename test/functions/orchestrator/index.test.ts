import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../../../core/records/keys';
import { dev } from '../../../lib/config/environments/dev';
import { parseEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable, testEndpoint } from '../../support/table';

/** The orchestrator Lambda's configuration: the environment definition the control-plane stack stored. */
describe('the orchestrator handler', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let index: typeof import('../../../functions/orchestrator/index');
  const environment = parseEnvironment(dev, 'dev');
  // What the control-plane stack writes: the parsed environment as JSON.
  const store = (definition: string) =>
    client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.environmentDefinition, definition },
      })
    );

  beforeAll(async () => {
    table = await createTestTable();
    // The handler module reads its table at load, as in Lambda.
    process.env.ORBIT_TABLE_NAME = table.tableName;
    process.env.AWS_REGION = 'us-east-1';
    process.env.ORBIT_DYNAMODB_ENDPOINT = testEndpoint();
    index = await import('../../../functions/orchestrator/index');
  });
  afterAll(async () => {
    delete process.env.ORBIT_TABLE_NAME;
    delete process.env.ORBIT_DYNAMODB_ENDPOINT;
    await table.drop();
  });

  it('reads the definition on every invocation: a deploy that breaks it is seen at the next run', async () => {
    await store(JSON.stringify(environment));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await index.handler({ job: 'reconcile' })).toEqual({ job: 'reconcile', events: [] });
    log.mockRestore();
    await store(JSON.stringify({ ...environment, rollout: { ...environment.rollout, waves: [] } }));
    await expect(index.handler({ job: 'reconcile' })).rejects.toThrow(
      'the stored environment definition is invalid (redeploy the control plane): rollout.waves: list at least one wave'
    );
  });

  it('rebuilds the wiring only when the stored definition changed', async () => {
    const load = index.controlPlaneLoader(client, table.tableName);
    await store(JSON.stringify(environment));
    const first = await load();
    expect(await load()).toBe(first);
    const gates = { ...environment.rollout.gates, minRequests: 500 };
    await store(JSON.stringify({ ...environment, rollout: { ...environment.rollout, gates } }));
    const changed = await load();
    expect(changed).not.toBe(first);
    expect(changed.environment.rollout.gates.minRequests).toBe(500);
  });

  it.each<[string, string, string]>([
    ['not JSON', '{"name":', 'the stored environment definition is not JSON'],
    [
      'of the wrong shape',
      JSON.stringify({ ...environment, homeRegion: 'Virginia', extra: 1 }),
      'homeRegion: must be an AWS region code such as us-east-1',
    ],
  ])('fails naming the problem when the definition is %s', (_, definition, message) => {
    expect(() => index.parseDefinition(definition)).toThrow(message);
  });

  it('fails naming the missing definition', async () => {
    const empty = await createTestTable();
    try {
      await expect(index.controlPlaneLoader(client, empty.tableName)()).rejects.toThrow(
        'the environment definition is missing from the table'
      );
    } finally {
      await empty.drop();
    }
  });
});
