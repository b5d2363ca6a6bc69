import type { Environment, Location } from '../../../../core/environment/schema';
import { allowedRegions } from '../../../../functions/orchestrator/governance/allowed-regions';
import { DEV, governanceContext, noRecords } from './context';

describe('allowed-regions job', () => {
  /**
   * The `dev` fleet with another allow list and more locations: built by hand, since the
   * config rules refuse a location outside allowedRegions (which is what this job is for: an
   * environment whose allow list changed after its locations were deployed).
   */
  const fleet = (allowed: string[], ...more: Location[]): Environment => ({
    ...DEV,
    allowedRegions: allowed,
    locations: [...DEV.locations, ...more],
  });
  const lisbon: Location = {
    id: 'lisbon',
    kind: 'on-prem',
    parentRegion: 'eu-south-2',
    site: 'lisbon rack',
  };
  /** The job reads the environment only: its records are no table. */
  const run = (environment: Environment) =>
    allowedRegions.run(governanceContext(noRecords(), { environment }));
  const outside = (subject: string, region: string) => ({
    job: 'policy',
    subject,
    severity: 'high',
    message: `runs in ${region}, outside allowedRegions`,
  });

  it('finds nothing in a fleet that runs in its allowed regions only', async () => {
    expect(await run(DEV)).toEqual({ observed: [] });
  });

  it.each([
    [
      'a region location outside allowedRegions',
      fleet(['us-east-1']),
      [outside('eu-west-1', 'eu-west-1')],
    ],
    [
      'a satellite whose parent region is outside allowedRegions',
      fleet(DEV.allowedRegions, lisbon),
      [outside('lisbon', 'eu-south-2')],
    ],
    [
      'every location of a fleet whose regions are all disallowed',
      fleet(['ap-southeast-2']),
      [
        outside('us-east-1', 'us-east-1'),
        outside('eu-west-1', 'eu-west-1'),
        outside('boston', 'us-east-1'),
        outside('lab', 'us-east-1'),
      ],
    ],
  ])('finds %s', async (_, environment, observed) => {
    expect(await run(environment)).toEqual({ observed });
  });

  it('speaks for every subject and always runs', () => {
    const context = governanceContext(noRecords());
    expect(['lab', 'us-east-1', 'gone'].every((s) => allowedRegions.owns(s, context))).toBe(true);
    expect(allowedRegions.enabled).toBeUndefined();
  });
});
