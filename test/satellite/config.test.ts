import {
  DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS,
  KEEP_ALIVE_MARGIN_SECONDS,
  keepAliveTimeoutFor,
  runtimeConfigFromEnv,
} from '../../lib/satellite/config';

const location = {
  ORBIT_ENVIRONMENT: 'test',
  ORBIT_LOCATION_ID: 'sat1',
  ORBIT_LOCATION_KIND: 'local-zone',
  ORBIT_REGION: 'us-west-2',
  ORBIT_TABLE_NAME: 'orbit-test',
  ORBIT_DATA_REGION: 'us-west-2',
  ORBIT_ARTIFACTS: 's3',
};

describe('runtimeConfigFromEnv', () => {
  it("defaults the keep-alive timeout past an ALB's default idle timeout (60 s)", () => {
    expect(DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS).toBe(65);
    expect(runtimeConfigFromEnv(location).keepAliveTimeoutSeconds).toBe(65);
  });

  it('reads ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS', () => {
    const config = runtimeConfigFromEnv({ ...location, ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS: '125' });
    expect(config.keepAliveTimeoutSeconds).toBe(125);
  });

  it.each(['0', '-5', 'soon', '', 'Infinity'])(
    'throws naming ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS when it is %j',
    (value) => {
      expect(() =>
        runtimeConfigFromEnv({ ...location, ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS: value })
      ).toThrow(/ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS=.* is not a positive number of seconds/);
    }
  );

  it('verifies tokens with kept keys for a day while cut off, unless ORBIT_OFFLINE_MAX_MINUTES says otherwise', () => {
    expect(runtimeConfigFromEnv(location).offlineMaxMinutes).toBe(1440);
    expect(
      runtimeConfigFromEnv({ ...location, ORBIT_OFFLINE_MAX_MINUTES: '90' }).offlineMaxMinutes
    ).toBe(90);
  });

  it.each(['0', '-1', 'a day', ''])(
    'throws naming ORBIT_OFFLINE_MAX_MINUTES when it is %j',
    (value) => {
      expect(() => runtimeConfigFromEnv({ ...location, ORBIT_OFFLINE_MAX_MINUTES: value })).toThrow(
        /ORBIT_OFFLINE_MAX_MINUTES=.* is not a positive number of minutes/
      );
    }
  );

  it('reads no affinity cookie unless ORBIT_AFFINITY_COOKIE names one', () => {
    expect(runtimeConfigFromEnv(location).affinityCookie).toBeUndefined();
    const unset = runtimeConfigFromEnv({ ...location, ORBIT_AFFINITY_COOKIE: '' });
    expect(unset.affinityCookie).toBeUndefined();
    const config = runtimeConfigFromEnv({ ...location, ORBIT_AFFINITY_COOKIE: 'orbit_session' });
    expect(config.affinityCookie).toBe('orbit_session');
  });

  it.each(['orbit session', 'a=b', 'x;y', 'sessión'])(
    'throws naming ORBIT_AFFINITY_COOKIE when it is %j, no cookie name',
    (value) => {
      expect(() => runtimeConfigFromEnv({ ...location, ORBIT_AFFINITY_COOKIE: value })).toThrow(
        /ORBIT_AFFINITY_COOKIE=.* is not a cookie name/
      );
    }
  );

  it("derives the keep-alive timeout from the proxy's idle timeout, always past it", () => {
    for (const idle of [1, 60, 120, 4000]) {
      expect(keepAliveTimeoutFor(idle)).toBe(idle + KEEP_ALIVE_MARGIN_SECONDS);
      expect(keepAliveTimeoutFor(idle)).toBeGreaterThan(idle);
    }
  });
});
