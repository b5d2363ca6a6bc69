import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentInput } from '../../../core/environment/schema';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import type { Rollout } from '../../../core/records/rollouts';
import { Orchestrator } from '../../../functions/orchestrator/orchestrator';
import type {
  HealthSample,
  TrafficDriver,
  TrafficTarget,
} from '../../../functions/orchestrator/ports';
import { parseEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

const environment = parseEnvironment(
  {
    name: 'test',
    account: '123456789012',
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1', 'us-west-2'],
    locations: [
      { id: 'canary', kind: 'on-prem', parentRegion: 'us-east-1' },
      { id: 'use1', kind: 'region', region: 'us-east-1' },
      { id: 'usw2', kind: 'region', region: 'us-west-2' },
    ],
    data: { regions: ['us-east-1'] },
    auth: { issuer: 'https://login.example.com/', audience: ['t'] },
    rollout: {
      waves: [
        { name: 'canary', locations: ['canary'], steps: [10, 100], bakeMinutes: 5 },
        { name: 'rest', locations: ['use1', 'usw2'], steps: [100], bakeMinutes: 5 },
      ],
      gates: { minRequests: 10, maxErrorRatePercent: 5 },
    },
  } satisfies EnvironmentInput,
  'test'
);

/** A fleet simulated in memory: drivers record targets, health follows the traffic it gets. */
class FakeFleet {
  readonly applied: { location: string; target: TrafficTarget }[] = [];
  readonly requests = new Map<string, number>();
  readonly errors = new Map<string, number>();
  failing = false;
  fresh = true;
  readonly driver: TrafficDriver = {
    apply: async (location, target) => {
      this.applied.push({ location, target });
    },
  };
  readonly health = {
    sample: async (location: string): Promise<HealthSample> => ({
      requests: this.requests.get(location) ?? 0,
      errors5xx: this.errors.get(location) ?? 0,
      p99Ms: 20,
      fresh: this.fresh,
      alarmsOk: true,
    }),
  };
  /** Every location serves `n` more requests of the candidate. */
  serve(n = 20): void {
    for (const l of environment.locations) {
      this.requests.set(l.id, (this.requests.get(l.id) ?? 0) + n);
      if (this.failing) this.errors.set(l.id, (this.errors.get(l.id) ?? 0) + n);
    }
  }
  /** The weights each location went through, consecutive repeats collapsed. */
  path(location: string): string[] {
    const steps = this.applied
      .filter((a) => a.location === location)
      .map(
        (a) =>
          `${a.target.stable}${a.target.candidate ? `+${a.target.candidate}@${a.target.weight}` : ''}`
      );
    return steps.filter((s, i) => s !== steps[i - 1]);
  }
}

describe('the orchestrator', () => {
  const client = testTableClient();
  let tableName: string;
  let drop: () => Promise<void>;
  let clock: number;
  let fleet: FakeFleet;
  let store: Records;

  const orchestrator = (driver?: TrafficDriver) =>
    new Orchestrator({
      environment,
      records: store,
      driverFor: () => driver ?? fleet.driver,
      healthFor: () => fleet.health,
      now: () => clock,
    });
  const stageAndServe = async (release: string) => {
    for (const l of environment.locations) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keys.stagedRelease(l.id, release), releaseId: release },
        })
      );
    }
  };
  const active = async (): Promise<Rollout | undefined> => {
    const id = await store.rollouts.activeId();
    return id ? store.rollouts.get(id) : undefined;
  };
  const rolloutOf = async (intentSk: string) =>
    store.rollouts.get(`ro-${intentSk.split('#')[2]}`) as Promise<Rollout>;
  const minutes = (n: number) => {
    clock += n * 60_000;
  };

  beforeEach(async () => {
    const table = await createTestTable();
    tableName = table.tableName;
    drop = table.drop;
    clock = Date.UTC(2026, 10, 25, 12);
    fleet = new FakeFleet();
    store = new Records(client, tableName, () => clock);
    for (const l of environment.locations) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keys.desiredTraffic(l.id), stable: R1, weight: 0 },
        })
      );
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keys.stagedRelease(l.id, R1),
            releaseId: R1,
            ...(l.kind === 'region'
              ? { functions: { items: { functionName: 'orbit-test-items', version: '1' } } }
              : { manifest: JSON.stringify({ releaseId: R1, functions: [{ name: 'items' }] }) }),
          },
        })
      );
    }
    await stageAndServe(R2);
  });
  afterEach(() => drop());

  /** Reconciles every minute, with traffic, until the rollout ends (or 60 passes). */
  const runToEnd = async (o = orchestrator()) => {
    for (let i = 0; i < 60 && (await store.rollouts.activeId()); i++) {
      fleet.serve();
      minutes(1);
      await o.reconcile();
    }
  };

  it('walks waves and steps with bakes, then makes the release stable everywhere', async () => {
    const intent = await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = orchestrator();
    await o.reconcile();
    expect(fleet.path('canary')).toEqual([`${R1}+${R2}@0.1`]);
    expect(fleet.path('use1')).toEqual([]);
    // Baking: nothing moves before the bake time, even with traffic.
    fleet.serve();
    minutes(4);
    await o.reconcile();
    expect(fleet.path('canary')).toEqual([`${R1}+${R2}@0.1`]);
    await runToEnd(o);
    expect(fleet.path('canary')).toEqual([`${R1}+${R2}@0.1`, `${R1}+${R2}@1`, R2]);
    expect(fleet.path('use1')).toEqual([`${R1}+${R2}@1`, R2]);
    const done = await rolloutOf(intent.sk);
    expect(done.status).toBe('completed');
    expect(await store.rollouts.activeId()).toBeUndefined();
    expect((await store.intents.get(intent))?.status).toBe('done');
  });

  // Without reserved concurrency a scheduled pass and a command's wake can overlap.
  it('returns a location to stable when another pass aborted the rollout while this one moved it', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    await orchestrator().reconcile();
    fleet.serve();
    minutes(6);
    const other = orchestrator();
    let interleaved = false;
    const racing: TrafficDriver = {
      apply: async (location, target) => {
        if (!interleaved && target.weight === 1) {
          interleaved = true;
          // The other pass aborts and rolls back before this pass's move lands.
          await store.intents.submit({ command: 'abort' }, 'bob');
          await other.reconcile();
        }
        await fleet.driver.apply(location, target);
      },
    };
    await orchestrator(racing)
      .reconcile()
      .catch(() => undefined);
    expect(interleaved).toBe(true);
    expect(fleet.path('canary')).toEqual([`${R1}+${R2}@0.1`, R1, `${R1}+${R2}@1`, R1]);
    expect((await store.rollouts.list(1))[0]?.status).toBe('aborted');
  });

  it('does not pass a gate before the minimum number of requests', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = orchestrator();
    await o.reconcile();
    // Past the 5-minute bake, inside the 10-minute wait for evidence.
    minutes(14);
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'running', step: 0 });
    fleet.serve(10);
    await o.reconcile();
    expect((await active())?.step).toBe(1);
  });

  it('names the locations whose evidence it waits for once the bake is over, so a pass can follow it', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = orchestrator();
    // The canary wave bakes 5 minutes: no evidence can end the step before that.
    expect((await o.reconcile()).waitingOn).toEqual([]);
    minutes(1);
    expect((await o.reconcile()).waitingOn).toEqual([]);
    minutes(5);
    expect((await o.reconcile()).waitingOn).toEqual(['canary']);
    fleet.serve();
    expect((await o.reconcile()).waitingOn).toEqual([]);
  });

  it('waits on a wave without bake from the pass that applies it', async () => {
    const noBake = parseEnvironment(
      {
        ...environment,
        rollout: {
          ...environment.rollout,
          waves: environment.rollout.waves.map((w) => ({ ...w, bakeMinutes: 0 })),
        },
      },
      'test'
    );
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = new Orchestrator({
      environment: noBake,
      records: store,
      driverFor: () => fleet.driver,
      healthFor: () => fleet.health,
      now: () => clock,
    });
    expect((await o.reconcile()).waitingOn).toEqual(['canary']);
    fleet.serve();
    expect((await o.reconcile()).waitingOn).toEqual(['canary']);
    fleet.serve();
    expect((await o.reconcile()).waitingOn).toEqual(['use1', 'usw2']);
  });

  it('rolls every touched location back in one pass when a gate breaks', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = orchestrator();
    await o.reconcile();
    for (let i = 0; i < 2; i++) {
      fleet.serve();
      minutes(5);
      await o.reconcile();
    }
    const touched = (await active())?.touched;
    expect(touched).toEqual(['canary', 'use1', 'usw2']);
    fleet.failing = true;
    fleet.serve();
    await o.reconcile();
    for (const id of ['canary', 'use1', 'usw2']) expect(fleet.path(id).at(-1)).toBe(R1);
    const audit = await store.audit.latest(5);
    expect(audit[0]?.outcome).toMatch(
      /^rolled-back: gate breached at canary: error rate [\d.]+% over \d+ requests/
    );
    expect(await store.rollouts.activeId()).toBeUndefined();
  });

  it('pauses, resumes, promotes (skipping the bake) and aborts on command', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = orchestrator();
    await o.reconcile();
    await store.intents.submit({ command: 'pause' }, 'bob');
    await o.reconcile();
    fleet.serve();
    minutes(10);
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'paused', step: 0 });
    await store.intents.submit({ command: 'resume' }, 'bob');
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'running', step: 1 });
    fleet.serve();
    await store.intents.submit({ command: 'promote' }, 'bob');
    await o.reconcile();
    expect(await active()).toMatchObject({ wave: 1, step: 0 });
    await store.intents.submit({ command: 'abort' }, 'bob');
    await o.reconcile();
    for (const id of ['canary', 'use1', 'usw2']) expect(fleet.path(id).at(-1)).toBe(R1);
    const audit = await store.audit.latest(20);
    expect(audit.map((a) => `${a.by} ${a.action}`)).toEqual(
      expect.arrayContaining(['alice start', 'bob pause', 'bob resume', 'bob promote', 'bob abort'])
    );
  });

  it.each([
    [
      'staged nowhere',
      'r-9999999999999999',
      [],
      'release r-9999999999999999 is not staged at any location of test; deploy it first',
    ],
    [
      'staged at one location',
      'r-3333333333333333',
      ['canary'],
      'release r-3333333333333333 is not staged at use1, usw2; deploy it there first',
    ],
    ['already stable everywhere', R1, [], `${R1} is already stable at every location`],
  ])('rejects a start for a release %s', async (_, release, stagedAt, outcome) => {
    for (const id of stagedAt) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keys.stagedRelease(id, release), releaseId: release },
        })
      );
    }
    const intent = await store.intents.submit({ command: 'start', release }, 'alice');
    await orchestrator().reconcile();
    expect(await store.intents.get(intent)).toMatchObject({ status: 'rejected', outcome });
    expect(await store.rollouts.activeId()).toBeUndefined();
  });

  it('starts exactly one rollout when two starts arrive at once', async () => {
    const [a, b] = await Promise.all([
      store.intents.submit({ command: 'start', release: R2 }, 'alice'),
      store.intents.submit({ command: 'start', release: R2 }, 'bob'),
    ]);
    await Promise.all([orchestrator().reconcile(), orchestrator().reconcile()]);
    await orchestrator().reconcile();
    const outcomes = [await store.intents.get(a), await store.intents.get(b)]
      .map((i) => i?.status)
      .sort();
    expect(outcomes).toEqual(['done', 'rejected']);
    expect(await active()).toBeDefined();
  });

  it('applies each step once when two runs reconcile at the same time', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    for (let i = 0; i < 40; i++) {
      fleet.serve();
      minutes(1);
      await Promise.all([orchestrator().reconcile(), orchestrator().reconcile()]);
      if (i > 0 && (await store.rollouts.activeId()) === undefined) break;
    }
    if (await store.rollouts.activeId()) await runToEnd();
    expect(fleet.path('canary')).toEqual([`${R1}+${R2}@0.1`, `${R1}+${R2}@1`, R2]);
    const versions = (await active()) ?? (await store.rollouts.list(1))[0];
    expect(versions?.history.filter((h) => h.event.startsWith('wave canary at 10%'))).toHaveLength(
      1
    );
  });

  it('ends a pass only when every traffic move has settled, naming each failure in location order', async () => {
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    const o = orchestrator();
    await o.reconcile();
    fleet.serve();
    minutes(6);
    await o.reconcile();
    fleet.serve();
    minutes(6);
    let slowDone = false;
    const driver: TrafficDriver = {
      apply: async (location, target) => {
        if (location === 'use1') {
          await new Promise((r) => setTimeout(r, 50));
          slowDone = true;
          return fleet.driver.apply(location, target);
        }
        throw new Error(`${location} is unreachable`);
      },
    };
    await expect(orchestrator(driver).reconcile()).rejects.toThrow(
      'moving traffic failed at usw2: usw2 is unreachable'
    );
    expect(slowDone).toBe(true);
    // The next pass repeats the step's moves and carries on.
    await runToEnd(o);
    expect(fleet.path('usw2')).toEqual([`${R1}+${R2}@1`, R2]);
  });

  describe('a crash between any two writes of a pass', () => {
    /** A driver and store that fail at the n-th write, once. */
    const crashingAt = (n: number) => {
      let writes = 0;
      const maybeCrash = () => {
        writes += 1;
        if (writes === n) throw new Error(`injected crash at write ${n}`);
      };
      const driver: TrafficDriver = {
        apply: async (location, target) => {
          maybeCrash();
          await fleet.driver.apply(location, target);
        },
      };
      const save = store.rollouts.save.bind(store.rollouts);
      const claim = store.rollouts.claimActive.bind(store.rollouts);
      const close = store.intents.close.bind(store.intents);
      const audit = store.audit.append.bind(store.audit);
      store.rollouts.save = async (r) => {
        maybeCrash();
        return save(r);
      };
      store.rollouts.claimActive = async (id) => {
        maybeCrash();
        return claim(id);
      };
      store.intents.close = async (i, s, o) => {
        maybeCrash();
        return close(i, s, o);
      };
      store.audit.append = async (e) => {
        maybeCrash();
        return audit(e);
      };
      return driver;
    };

    it.each(Array.from({ length: 24 }, (_, i) => i + 1))(
      'loses and repeats no step when the crash hits write %i',
      async (n) => {
        await store.intents.submit({ command: 'start', release: R2 }, 'alice');
        const driver = crashingAt(n);
        for (let i = 0; i < 60; i++) {
          fleet.serve();
          minutes(1);
          // A crashed run is followed by a fresh one, as the next scheduled run would be.
          await orchestrator(driver)
            .reconcile()
            .catch(() => undefined);
          if (i > 2 && !(await store.rollouts.activeId())) break;
        }
        expect(fleet.path('canary')).toEqual([`${R1}+${R2}@0.1`, `${R1}+${R2}@1`, R2]);
        expect(fleet.path('usw2')).toEqual([`${R1}+${R2}@1`, R2]);
        const desired = await client.send(
          new GetCommand({ TableName: tableName, Key: keys.activeRollout })
        );
        expect(desired.Item).toBeUndefined();
      }
    );
  });

  it('drains and restores a location, and a function fleet-wide, with an audit entry', async () => {
    await store.intents.submit(
      { command: 'drain', location: 'use1', reason: 'maintenance' },
      'carol'
    );
    await store.intents.submit({ command: 'drain', function: 'items' }, 'carol');
    await orchestrator().reconcile();
    const read = async (key: { pk: string; sk: string }) =>
      (await client.send(new GetCommand({ TableName: tableName, Key: key }))).Item;
    expect(await read(keys.locationDrain('use1'))).toMatchObject({
      drained: true,
      reason: 'maintenance',
      by: 'carol',
    });
    expect(await read(keys.functionDrain('items'))).toMatchObject({ drained: true });
    await store.intents.submit({ command: 'restore', location: 'use1' }, 'carol');
    await orchestrator().reconcile();
    expect(await read(keys.locationDrain('use1'))).toMatchObject({ drained: false });
    expect((await store.audit.latest(10)).map((a) => a.outcome)).toEqual(
      expect.arrayContaining([
        'done: location use1 drained',
        'done: function items fleet-wide drained',
        'done: location use1 restored',
      ])
    );
  });

  it.each([
    [
      { command: 'drain', function: 'itemz' },
      "no function 'itemz' in the releases of test; the functions are items, notes",
    ],
    [
      { command: 'restore', function: 'nosuch' },
      "no function 'nosuch' in the releases of test; the functions are items, notes",
    ],
    [{ command: 'drain' }, 'name a location or a function to drain'],
    [
      { command: 'restore', location: 'use1', function: 'items' },
      'name a location or a function, not both',
    ],
    [
      { command: 'drain', location: 'nowhere' },
      "no location 'nowhere'; the locations are canary, use1, usw2",
    ],
  ] as const)(
    'rejects a kill switch %j, saying why, and writes no drain',
    async (command, outcome) => {
      // A staged release that adds a function makes it known too.
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keys.stagedRelease('canary', R2),
            releaseId: R2,
            manifest: JSON.stringify({
              releaseId: R2,
              functions: [{ name: 'items' }, { name: 'notes' }],
            }),
          },
        })
      );
      const intent = await store.intents.submit(command, 'carol');
      await orchestrator().reconcile();
      expect(await store.intents.get(intent)).toMatchObject({ status: 'rejected', outcome });
      for (const key of [
        keys.functionDrain('itemz'),
        keys.functionDrain('nosuch'),
        keys.locationDrain('nowhere'),
      ]) {
        expect(
          (await client.send(new GetCommand({ TableName: tableName, Key: key }))).Item
        ).toBeUndefined();
      }
    }
  );

  it('restores a function drained before every release dropped it', async () => {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...keys.functionDrain('legacy'), drained: true, reason: 'retired' },
      })
    );
    const intent = await store.intents.submit({ command: 'restore', function: 'legacy' }, 'carol');
    await orchestrator().reconcile();
    expect(await store.intents.get(intent)).toMatchObject({
      status: 'done',
      outcome: 'function legacy fleet-wide restored',
    });
  });
});
