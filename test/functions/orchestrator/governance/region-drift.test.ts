import type { DesiredTraffic } from '../../../../core/records/desired-traffic';
import { regionDrift } from '../../../../functions/orchestrator/governance/region-drift';
import type { ObservedTraffic, RegionObserver } from '../../../../functions/orchestrator/ports';
import { governanceContext, NOW, noRecords, R1, R2 } from './context';

describe('region-drift job', () => {
  const at = new Date(NOW - 60_000).toISOString();
  const ONLY_R1: DesiredTraffic = { stable: R1, weight: 0, updatedAt: at };
  const MOVE: DesiredTraffic = { stable: R1, candidate: R2, weight: 0.25, updatedAt: at };
  /** An observer that reads back `actual` at us-east-1 and what is desired everywhere else. */
  const observer = (actual: ObservedTraffic): RegionObserver & { observe: jest.Mock } => ({
    observe: jest.fn(async (id: string, desired: { stable: string; candidate?: string }) =>
      id === 'us-east-1' ? actual : { stable: desired.stable, weight: 0, unknown: [] }
    ),
  });
  /**
   * A run over the `dev` fleet where us-east-1 should serve `desired` and eu-west-1 R1 only;
   * the job reads desired traffic through the context only (its records are no table).
   */
  const run = (desired: DesiredTraffic, regions: RegionObserver | undefined) => {
    const byLocation: Record<string, DesiredTraffic> = {
      'us-east-1': desired,
      'eu-west-1': ONLY_R1,
      boston: MOVE,
      lab: MOVE,
    };
    return regionDrift.run(
      governanceContext(noRecords(), {
        ...(regions ? { observer: regions } : {}),
        desired: async (id) => byLocation[id],
      })
    );
  };

  it('runs only where a region observer is wired', () => {
    expect(regionDrift.enabled?.(governanceContext(noRecords()))).toBe(false);
    const context = governanceContext(noRecords(), {
      observer: observer({ ...MOVE, unknown: [] }),
    });
    expect(regionDrift.enabled?.(context)).toBe(true);
  });

  it('observes nothing when run without an observer anyway', async () => {
    expect(await run(MOVE, undefined)).toEqual({ observed: [] });
  });

  it('finds aliases that route versions of no desired release', async () => {
    const regions = observer({ stable: R1, weight: 0, unknown: ['orbit-dev-items → 5'] });
    expect(await run(ONLY_R1, regions)).toEqual({
      observed: [
        {
          job: 'drift',
          subject: 'us-east-1',
          severity: 'high',
          message: 'aliases route versions of no desired release: orbit-dev-items → 5',
        },
      ],
    });
  });

  it.each([
    [
      'less weight than desired',
      MOVE,
      0.1,
      `serves ${R1} with 10% to ${R2}; desired ${R1} with 25% to ${R2}`,
    ],
    [
      'weight while none is desired',
      ONLY_R1,
      0.25,
      `serves ${R1} with 25% to ${R2}; desired ${R1} only`,
    ],
  ])(
    'finds a region whose aliases give the candidate %s, in words',
    async (_, desired, weight, message) => {
      const regions = observer({ stable: R1, candidate: R2, weight, unknown: [] });
      expect(await run(desired, regions)).toEqual({
        observed: [{ job: 'drift', subject: 'us-east-1', severity: 'high', message }],
      });
    }
  );

  it.each([
    ['a move', MOVE, { stable: R1, candidate: R2, weight: 0.25, unknown: [] }],
    ['the stable release only', ONLY_R1, { stable: R1, weight: 0, unknown: [] }],
  ])('finds nothing at regions whose aliases route %s as desired', async (_, desired, actual) => {
    expect(await run(desired, observer(actual))).toEqual({ observed: [] });
  });

  it('asks the observer about region locations with desired traffic only', async () => {
    const regions = observer({ stable: R1, weight: 0, unknown: [] });
    await run(ONLY_R1, regions);
    expect(regions.observe.mock.calls.map(([id]) => id)).toEqual(['us-east-1', 'eu-west-1']);
    regions.observe.mockClear();
    await regionDrift.run(
      governanceContext(noRecords(), {
        observer: regions,
        desired: async (id) => (id === 'eu-west-1' ? ONLY_R1 : undefined),
      })
    );
    expect(regions.observe.mock.calls).toEqual([['eu-west-1', ONLY_R1]]);
  });

  it.each([
    ['us-east-1', []],
    ['eu-west-1', ['boston', 'lab']],
  ])('speaks for drift at region location %s when it does not report', (subject, reporting) => {
    expect(regionDrift.owns(subject, governanceContext(noRecords(), { reporting }))).toBe(true);
  });

  it.each([
    ['a region location that reports (the local fleet)', 'us-east-1', ['us-east-1']],
    ['a satellite', 'boston', []],
    ['a location no longer in the environment', 'gone', []],
  ])('leaves drift at %s to the drift job', (_, subject, reporting) => {
    expect(regionDrift.owns(subject, governanceContext(noRecords(), { reporting }))).toBe(false);
  });
});
