import { satelliteLocations } from '../../core/environment/fleet';
import {
  locationContextFromEnv,
  locationContextOf,
  locationEnv,
  ORBIT_ENV,
  ORBIT_FUNCTION_ENV,
} from '../../core/location-env';
import { loadEnvironment } from '../../lib/config/load';

describe('the location environment contract', () => {
  const env = loadEnvironment({ env: 'prod' });

  it.each(env.locations.map((l) => [l.id, l] as const))(
    'reads back at %s exactly the context it was built from',
    (_, location) => {
      const context = { ...locationContextOf(env, location), releaseId: 'r-0123456789abcdef' };
      expect(locationContextFromEnv(locationEnv(context))).toEqual(context);
    }
  );

  it('names the table, the region and the data region as the fleet helpers do', () => {
    const satellite = satelliteLocations(env)[0];
    if (!satellite) throw new Error('prod has a satellite');
    expect(locationEnv(locationContextOf(env, satellite))).toMatchObject({
      [ORBIT_ENV.environment]: 'prod',
      [ORBIT_ENV.locationId]: satellite.id,
      [ORBIT_ENV.region]: satellite.parentRegion,
      [ORBIT_ENV.tableName]: 'orbit-prod',
    });
  });

  it('leaves the release out until a bundle names it, and passes CORS as JSON', () => {
    const location = env.locations[0];
    if (!location) throw new Error('prod has locations');
    const vars = locationEnv(locationContextOf(env, location), { cors: { allowOrigins: ['x'] } });
    expect(vars[ORBIT_ENV.releaseId]).toBeUndefined();
    expect(JSON.parse(vars[ORBIT_FUNCTION_ENV.cors] as string)).toEqual({ allowOrigins: ['x'] });
  });

  it('throws naming the first missing variable', () => {
    const location = env.locations[0];
    if (!location) throw new Error('prod has locations');
    expect(() => locationContextFromEnv(locationEnv(locationContextOf(env, location)))).toThrow(
      /ORBIT_RELEASE_ID is not set/
    );
  });
});
