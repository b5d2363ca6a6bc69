import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import { definitionPut } from '../../../core/records/environment-definition';
import { keys } from '../../../core/records/keys';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

describe('the environment definition record', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;

  beforeEach(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterEach(() => table.drop());

  it('reads undefined before the control plane recorded a definition', async () => {
    expect(await records.definition.get()).toBeUndefined();
  });

  it('reads the definition the control-plane deploy put, as stored', async () => {
    const definition = JSON.stringify({ name: 'dev', locations: [{ id: 'use1' }] });
    await client.send(new PutCommand(definitionPut(table.tableName, definition)));
    expect(await records.definition.get()).toBe(definition);
  });

  it('reads undefined when the stored definition is not a string', async () => {
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.environmentDefinition, definition: { name: 'dev' } },
      })
    );
    expect(await records.definition.get()).toBeUndefined();
  });
});
