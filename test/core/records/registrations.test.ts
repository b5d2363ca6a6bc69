import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import { registrationUpdate } from '../../../core/records/registrations';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

describe('registration records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const stored = async (locationId: string) =>
    (
      await client.send(
        new GetCommand({ TableName: table.tableName, Key: keys.location(locationId) })
      )
    ).Item;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  it('registers a location with its facts as attributes and the release it staged', async () => {
    await records.registrations.register({
      locationId: 'use1',
      facts: { kind: 'region', region: 'us-east-1', dataRegion: 'us-east-1' },
      latestStaged: R1,
    });
    expect(await records.registrations.get('use1', { consistent: true })).toEqual({
      ...keys.location('use1'),
      type: 'location',
      locationId: 'use1',
      kind: 'region',
      region: 'us-east-1',
      dataRegion: 'us-east-1',
      latestStaged: R1,
    });
    expect(await records.registrations.latestStaged('use1')).toBe(R1);
  });

  it('registering again records the newer release and keeps the fields other writers set', async () => {
    await records.registrations.register({
      locationId: 'lab',
      facts: { kind: 'satellite', region: 'us-east-1' },
      latestStaged: R1,
    });
    await client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.location('lab'),
        UpdateExpression: 'SET operatorNote = :note, hosts = :hosts',
        ExpressionAttributeValues: { ':note': 'rack 4', ':hosts': 3 },
      })
    );
    await records.registrations.register({
      locationId: 'lab',
      facts: { kind: 'satellite', region: 'us-west-2' },
      latestStaged: R2,
    });
    expect(await stored('lab')).toEqual({
      ...keys.location('lab'),
      type: 'location',
      locationId: 'lab',
      kind: 'satellite',
      region: 'us-west-2',
      latestStaged: R2,
      operatorNote: 'rack 4',
      hosts: 3,
    });
    expect(await records.registrations.latestStaged('lab')).toBe(R2);
  });

  it('reads nothing for a location never deployed', async () => {
    expect(await records.registrations.get('never')).toBeUndefined();
    expect(await records.registrations.latestStaged('never')).toBeUndefined();
  });

  it('reads no latest release from an item whose latestStaged is not a string', async () => {
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.location('odd'), latestStaged: 7 },
      })
    );
    expect(await records.registrations.latestStaged('odd')).toBeUndefined();
  });

  it('sets only what a deploy owns: type, id, facts and the latest staged release', () => {
    const update = registrationUpdate('t', {
      locationId: 'use1',
      facts: { kind: 'region' },
      latestStaged: R1,
    });
    expect(update.Key).toEqual(keys.location('use1'));
    expect(Object.values(update.ExpressionAttributeNames ?? {})).toEqual([
      'type',
      'locationId',
      'kind',
      'latestStaged',
    ]);
  });

  it.each(['type', 'locationId', 'latestStaged', 'pk'])(
    'throws for a fact named %s, which would overwrite the registration itself',
    (name) => {
      expect(() =>
        registrationUpdate('t', { locationId: 'lab', facts: { [name]: 'x' }, latestStaged: R1 })
      ).toThrow(`location lab: the registration's own fields cannot be facts: ${name}`);
    }
  );
});
