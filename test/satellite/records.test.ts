import {
  heartbeatRecord,
  type InstanceHeartbeat,
  isStale,
  locationHeartbeat,
  RETIRED_ENTRY,
  retiredEntry,
} from '../../core/records/heartbeats';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';
const T = Date.UTC(2026, 10, 25, 12);

const host = (
  instanceId: string,
  atMs: number,
  fields: Partial<InstanceHeartbeat> = {}
): InstanceHeartbeat => ({
  instanceId,
  locationId: 'boston',
  at: new Date(atMs).toISOString(),
  atMs,
  intervalSeconds: 10,
  stable: R1,
  candidate: R2,
  weight: 0.5,
  releases: {},
  totals: {},
  startedAt: '2026-11-25T11:00:00.000Z',
  ...fields,
});

describe('a location heartbeat', () => {
  it('is undefined until a process has reported', () => {
    expect(locationHeartbeat(undefined)).toBeUndefined();
    expect(locationHeartbeat({ instances: {} })).toBeUndefined();
  });

  it("sums every host's totals, so that one host's figures never hide another's", () => {
    const hb = locationHeartbeat(
      heartbeatRecord(
        host('a', T, { totals: { [R2]: { requests: 40, errors4xx: 1, errors5xx: 0 } } }),
        host('b', T - 5_000, { totals: { [R2]: { requests: 60, errors4xx: 0, errors5xx: 30 } } })
      )
    );
    expect(hb?.totals[R2]).toEqual({ requests: 100, errors4xx: 1, errors5xx: 30 });
    expect(hb?.hosts).toHaveLength(2);
  });

  it('keeps the totals of a stopped or restarted process, so that the sum only grows', () => {
    const before = host('a', T - 600_000, {
      startedAt: '2026-11-25T10:00:00.000Z',
      totals: { [R2]: { requests: 7, errors4xx: 0, errors5xx: 2 } },
    });
    const after = host('a', T, {
      startedAt: '2026-11-25T11:50:00.000Z',
      totals: { [R2]: { requests: 3, errors4xx: 0, errors5xx: 1 } },
    });
    const hb = locationHeartbeat(heartbeatRecord(before, after));
    expect(hb?.totals[R2]).toEqual({ requests: 10, errors4xx: 0, errors5xx: 3 });
    expect(hb?.hosts).toHaveLength(1);
  });

  it('merges the last window of the hosts still reporting: counts summed, the slowest p99', () => {
    const window = (requests: number, p99Ms: number) => ({
      [R2]: { requests, errors4xx: 0, errors5xx: 0, p50Ms: p99Ms / 2, p99Ms },
    });
    const hb = locationHeartbeat(
      heartbeatRecord(
        host('a', T, { releases: window(10, 20) }),
        host('b', T - 1_000, { releases: window(5, 80) }),
        host('gone', T - 3_600_000, { releases: window(100, 900) })
      )
    );
    expect(hb?.releases[R2]).toEqual({
      requests: 15,
      errors4xx: 0,
      errors5xx: 0,
      p50Ms: 40,
      p99Ms: 80,
    });
  });

  it("sums every host's drained answers apart from its requests and errors, in the totals and the window", () => {
    const counts = (requests: number, errors5xx: number, drained?: number) => ({
      requests,
      errors4xx: 0,
      errors5xx,
      ...(drained === undefined ? {} : { drained }),
    });
    const hb = locationHeartbeat(
      heartbeatRecord(
        host('a', T, {
          totals: { [R2]: counts(10, 1, 40) },
          releases: { [R2]: { ...counts(4, 0, 12), p50Ms: 2, p99Ms: 5 } },
        }),
        // A host that has drained nothing, or wrote its heartbeat before drains were counted.
        host('b', T - 1_000, {
          totals: { [R2]: counts(5, 0), [R1]: counts(3, 0) },
          releases: { [R2]: { ...counts(2, 0), p50Ms: 3, p99Ms: 9 } },
        })
      )
    );
    expect(hb?.totals).toEqual({ [R2]: counts(15, 1, 40), [R1]: counts(3, 0) });
    expect(hb?.releases[R2]).toEqual({ ...counts(6, 0, 12), p50Ms: 3, p99Ms: 9 });
  });

  it('says what the freshest host serves, and is stale only when every host is', () => {
    const hb = locationHeartbeat(
      heartbeatRecord(
        host('a', T - 20_000, { weight: 0.5 }),
        host('b', T, { weight: 1, candidate: R2 })
      )
    ) as NonNullable<ReturnType<typeof locationHeartbeat>>;
    expect(hb).toMatchObject({ atMs: T, weight: 1, candidate: R2, locationId: 'boston' });
    expect(hb).not.toHaveProperty('instanceId');
    expect(isStale(hb, T + 29_000)).toBe(false);
    expect(isStale(hb, T + 31_000)).toBe(true);
  });

  it('counts the retired entry in the totals only: it never serves, reports or is fresh', () => {
    const retired = {
      ...retiredEntry('boston'),
      totals: { [R2]: { requests: 7, errors4xx: 0, errors5xx: 7 } },
    };
    const live = host('a', T, { totals: { [R2]: { requests: 3, errors4xx: 0, errors5xx: 0 } } });
    const hb = locationHeartbeat({
      ...heartbeatRecord(live),
      instances: { ...heartbeatRecord(live).instances, [RETIRED_ENTRY]: retired },
    });
    expect(hb?.totals[R2]).toEqual({ requests: 10, errors4xx: 0, errors5xx: 7 });
    expect(hb?.hosts).toHaveLength(1);
    expect(hb?.hosts.map((h) => h.instanceId)).toEqual(['a']);
    expect(locationHeartbeat({ instances: { [RETIRED_ENTRY]: retired } })).toBeUndefined();
  });

  it('reads an item written before heartbeats had one entry per host as one host', () => {
    const { instanceId: _id, ...flat } = host('a', T, {
      totals: { [R2]: { requests: 9, errors4xx: 0, errors5xx: 0 } },
    });
    expect(locationHeartbeat(flat)).toMatchObject({
      atMs: T,
      hosts: [expect.objectContaining({ instanceId: 'unnamed' })],
      totals: { [R2]: { requests: 9, errors4xx: 0, errors5xx: 0 } },
    });
  });
});
