import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Environment } from '../../core/environment/schema';
import type { LocationContext } from '../../core/location-env';
import type { Release } from '../../core/manifest';
import { Records } from '../../core/records';
import { keys } from '../../core/records/keys';
import { HeartbeatHealthSource } from '../../functions/orchestrator/adapters/heartbeat-health';
import { judge } from '../../functions/orchestrator/gates';
import { RouteTable } from '../../functions/shared/route-table';
import type { LambdaHandler, LoadedRelease } from '../../lib/satellite/function-host';
import { PullAgent } from '../../lib/satellite/pull-agent';
import { createRuntimeServer } from '../../lib/satellite/server';
import { ReleaseStats } from '../../lib/satellite/stats';
import { candidateHandler } from '../support/candidate';
import { testLocation, testTableClient } from '../support/handlers';
import { createTestTable } from '../support/table';

const STABLE = 'r-1111111111111111';
const gates = {
  minRequests: 20,
  maxErrorRatePercent: 1,
  maxP99LatencyMs: 2000,
} as Environment['rollout']['gates'];

/**
 * A drain during a rollout, end to end on a satellite: the candidate's real middleware
 * refuses the requests, the real runtime server counts them, the pull agent reports them in
 * its heartbeat, and the orchestrator's heartbeat health source and gate judge them.
 */
describe('drained answers at a satellite', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let location: LocationContext;
  let server: Server;
  let agent: PullAgent;
  let url: string;

  /** A loaded release whose only function is a real Orbit handler (`GET /ok`, `GET /fail`). */
  const loadedRelease = (releaseId: string): LoadedRelease => {
    const handler = candidateHandler('notes', { ...location, releaseId }, client);
    return {
      releaseId,
      dir: `/releases/${releaseId}`,
      routes: new RouteTable([
        { method: 'GET', path: '/ok', auth: 'none', functionName: 'notes' },
        { method: 'GET', path: '/fail', auth: 'none', functionName: 'notes' },
      ]),
      functions: new Map([
        [
          'notes',
          {
            name: 'notes',
            qualifiedName: 'orbit-test-notes',
            handler: handler as unknown as LambdaHandler,
            timeoutMs: 5000,
            memoryMb: 128,
          },
        ],
      ]),
    };
  };
  const put = (Item: Record<string, unknown>) =>
    client.send(new PutCommand({ TableName: table.tableName, Item }));
  const serve = async (path: string, n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(new URL(path, url));
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  };

  beforeAll(async () => {
    table = await createTestTable();
    location = { ...testLocation(table.tableName, 'lab'), locationKind: 'on-prem' };
  });
  afterAll(() => table.drop());

  beforeEach(async () => {
    const candidate = `r-${'c'.repeat(16)}`;
    await put({ ...keys.location('lab'), kind: 'on-prem', latestStaged: candidate });
    await put({
      ...keys.desiredTraffic('lab'),
      stable: STABLE,
      candidate,
      weight: 1,
      updatedAt: new Date().toISOString(),
    });
    const stats = new ReleaseStats();
    agent = new PullAgent({
      records: new Records(client, table.tableName),
      locationId: 'lab',
      stats,
      artifacts: {
        fetch: async (releaseId) =>
          ({ dir: `/releases/${releaseId}`, manifest: { releaseId } }) as unknown as Release,
      },
      load: (release) => loadedRelease(release.manifest.releaseId),
    });
    await agent.tick();
    server = createRuntimeServer({ traffic: () => agent.current(), stats, locationId: 'lab' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterEach(async () => {
    await agent.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await client.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.locationDrain('lab') })
    );
    await client.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.functionDrain('notes') })
    );
  });

  it.each([
    ['the location', () => keys.locationDrain('lab')],
    ['the function fleet-wide', () => keys.functionDrain('notes')],
  ])(
    'counts the 503s of %s drained as drained, not as release errors, so the gate sees no breach',
    async (_scope, key) => {
      const candidate = agent.current().candidate?.releaseId as string;
      const source = new HeartbeatHealthSource(new Records(client, table.tableName));
      const baseline = await source.sample('lab', candidate);
      await put({ ...key(), drained: true, reason: 'rack move', retryAfterSeconds: 30 });

      const statuses = await serve('/ok', 60);
      expect(new Set(statuses)).toEqual(new Set([503]));
      await agent.tick();

      const sample = await source.sample('lab', candidate);
      expect(sample).toMatchObject({ requests: 0, errors5xx: 0, fresh: true });
      expect(judge(sample, baseline, gates)).toMatchObject({
        verdict: 'wait',
        why: '0 of 20 requests served',
      });
      const hb = await client.send(
        new GetCommand({ TableName: table.tableName, Key: keys.heartbeat('lab') })
      );
      const entry = Object.values(hb.Item?.instances ?? {})[0] as {
        totals: Record<string, unknown>;
      };
      expect(entry.totals[candidate]).toEqual({
        requests: 0,
        errors4xx: 0,
        errors5xx: 0,
        drained: 60,
      });
    }
  );

  it('still breaches the gate of a candidate whose own answers are 5xx', async () => {
    const candidate = agent.current().candidate?.releaseId as string;
    const source = new HeartbeatHealthSource(new Records(client, table.tableName));
    const baseline = await source.sample('lab', candidate);
    expect(new Set(await serve('/fail', 30))).toEqual(new Set([500]));
    await agent.tick();
    expect(judge(await source.sample('lab', candidate), baseline, gates)).toMatchObject({
      verdict: 'breach',
      why: 'error rate 100.0% over 30 requests (limit 1%)',
    });
  });
});
