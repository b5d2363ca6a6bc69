import type { Route } from '../../../../core/declaration';
import type { ReleaseFunction, ReleaseManifest } from '../../../../core/manifest';
import { Records } from '../../../../core/records';
import type { TrafficSplit } from '../../../../core/records/desired-traffic';
import { publicRoutes } from '../../../../functions/orchestrator/governance/public-routes';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';
import { DEV, governanceContext, NOW, R1, R2, R3 } from './context';

describe('public-routes job', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  /** A release nobody staged anywhere: what every location serves before each test. */
  const UNSTAGED = 'r-0000000000000000';
  const bundle = { file: 'x/index.js', sha256: '0'.repeat(64), bytes: 1 };
  const fn = (name: string, ...routes: Route[]): ReleaseFunction => ({
    name,
    ...bundle,
    file: `functions/${name}/index.js`,
    routes,
    fallback: false,
    table: null,
    maxBodyBytes: 1_048_576,
    memoryMb: 128,
    timeoutSeconds: 5,
  });
  const manifest = (releaseId: string, ...functions: ReleaseFunction[]): ReleaseManifest => ({
    releaseId,
    target: 'node20',
    functions,
    runtime: { ...bundle, file: 'runtime/index.js' },
    orchestrator: { ...bundle, file: 'orchestrator/index.js' },
  });
  const health = fn('health', { method: 'GET', path: '/health', auth: 'none' });
  const admin = fn(
    'admin',
    { method: 'POST', path: '/admin', auth: 'none' },
    { method: 'GET', path: '/admin/{id}', auth: 'none' },
    { method: 'GET', path: '/admin', auth: 'jwt' }
  );
  const stage = (locationId: string, release: ReleaseManifest) =>
    records.stagedReleases.stage({
      locationId,
      releaseId: release.releaseId,
      manifest: JSON.stringify(release),
    });
  const serve = (locationId: string, split: TrafficSplit) =>
    records.desired.put(locationId, split, NOW - 60_000);
  const run = (environment = DEV) => publicRoutes.run(governanceContext(records, { environment }));

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  beforeEach(async () => {
    for (const l of DEV.locations) await serve(l.id, { stable: UNSTAGED, weight: 0 });
  });
  afterAll(() => table.drop());

  it('finds a served release with public routes the environment does not allow, naming them', async () => {
    await stage('lab', manifest(R1, health, admin));
    await serve('lab', { stable: R1, weight: 0 });
    expect(await run()).toEqual({
      observed: [
        {
          job: 'policy',
          subject: 'lab',
          severity: 'high',
          message: `${R1} serves public routes the environment does not allow: POST /admin, GET /admin/{id}`,
        },
      ],
    });
  });

  it('finds a candidate with public routes the environment does not allow, beside a clean stable release', async () => {
    await stage('boston', manifest(R1, health));
    await stage('boston', manifest(R2, health, admin));
    await serve('boston', { stable: R1, candidate: R2, weight: 0.1 });
    expect((await run()).observed).toEqual([
      expect.objectContaining({
        subject: 'boston',
        message: expect.stringMatching(new RegExp(`^${R2} serves public routes`)),
      }),
    ]);
  });

  it('finds nothing where every public route is one the environment allows', async () => {
    const open = { ...DEV, api: { ...DEV.api, publicRoutes: ['GET /health', 'POST /admin'] } };
    const withoutIds = fn('admin', { method: 'POST', path: '/admin', auth: 'none' });
    await stage('lab', manifest(R3, health, withoutIds));
    await serve('lab', { stable: R3, weight: 0 });
    expect(await run(open)).toEqual({ observed: [] });
  });

  it('finds nothing where the served release is not staged at the location', async () => {
    // Staged at boston only: lab has no staged record, so no manifest, for it.
    await stage('boston', manifest(R2, admin));
    await serve('lab', { stable: R2, weight: 0 });
    expect(await run()).toEqual({ observed: [] });
  });

  it('finds nothing where a staged record holds no manifest (a region stages Lambda versions)', async () => {
    await records.stagedReleases.stage({
      locationId: 'us-east-1',
      releaseId: R2,
      functions: { admin: { functionName: 'orbit-dev-admin', version: '3' } },
    });
    await serve('us-east-1', { stable: R2, weight: 0 });
    expect(await run()).toEqual({ observed: [] });
  });

  it('speaks for every subject and always runs', () => {
    const context = governanceContext(records);
    expect(['lab', 'us-east-1', 'gone'].every((s) => publicRoutes.owns(s, context))).toBe(true);
    expect(publicRoutes.enabled).toBeUndefined();
  });
});
