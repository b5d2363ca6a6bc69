import { BatchGetCommand, BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../../core/records';
import { heartbeatRecord, type InstanceHeartbeat } from '../../../../core/records/heartbeats';
import { keys } from '../../../../core/records/keys';
import { HeartbeatHealthSource } from '../../../../functions/orchestrator/adapters/heartbeat-health';
import { SatelliteTrafficDriver } from '../../../../functions/orchestrator/adapters/satellite-traffic';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';

const R = 'r-1111111111111111';

describe('satellite ports', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const now = Date.UTC(2026, 10, 25, 12);
  const ids = Array.from({ length: 250 }, (_, i) => `site-${i}`);

  beforeAll(async () => {
    table = await createTestTable();
    for (let i = 0; i < ids.length; i += 25) {
      await client.send(
        new BatchWriteCommand({
          RequestItems: {
            [table.tableName]: ids.slice(i, i + 25).map((id, j) => ({
              PutRequest: {
                Item: {
                  ...keys.heartbeat(id),
                  ...heartbeatRecord({
                    instanceId: 'host-1',
                    startedAt: '2026-11-25T11:00:00.000Z',
                    locationId: id,
                    atMs: now - 1000,
                    intervalSeconds: 10,
                    totals: { [R]: { requests: i + j, errors4xx: 0, errors5xx: 1 } },
                    releases: { [R]: { p99Ms: 12 } },
                  } as unknown as InstanceHeartbeat),
                },
              },
            })),
          },
        })
      );
    }
  });
  afterAll(() => table.drop());

  it('reads many heartbeats in pages of 100, not one request per location', async () => {
    const send = jest.spyOn(client, 'send');
    const samples = await new HeartbeatHealthSource(
      new Records(client, table.tableName),
      () => now
    ).sampleMany([...ids, 'never-reported'], R);
    expect(
      send.mock.calls.filter(([c]) => c instanceof BatchGetCommand).length
    ).toBeGreaterThanOrEqual(3);
    expect(
      send.mock.calls.filter(([c]) => c instanceof BatchGetCommand).length
    ).toBeLessThanOrEqual(4);
    send.mockRestore();
    expect(samples.get('site-7')).toEqual({
      requests: 7,
      errors5xx: 1,
      p99Ms: 12,
      fresh: true,
      alarmsOk: true,
    });
    expect(samples.get('never-reported')?.fresh).toBe(false);
  });

  it('writes the desired traffic a pull agent applies, with no candidate at weight 0', async () => {
    const driver = new SatelliteTrafficDriver(new Records(client, table.tableName), () => now);
    await driver.apply('site-1', { stable: R, candidate: 'r-2222222222222222', weight: 0 });
    const out = await client.send(
      new GetCommand({ TableName: table.tableName, Key: keys.desiredTraffic('site-1') })
    );
    expect(out.Item).toMatchObject({ stable: R, weight: 0 });
    expect(out.Item?.candidate).toBeUndefined();
  });
});
