import type { Environment } from '../../core/environment/schema';
import type { Release, ReleaseFunction } from '../../core/manifest';
import { ENVIRONMENTS, loadEnvironment } from '../../lib/config/load';
import { checkRelease } from '../../lib/config/release-rules';
import { fakeRelease } from '../support/release';

// health: GET /health public; echo: two jwt routes; fallback: no routes.
const release = fakeRelease('rules');

/** `release` with its functions changed by `change`. */
function releaseWith(
  change: (functions: ReleaseFunction[]) => ReleaseFunction[]
): Pick<Release, 'manifest'> {
  return {
    manifest: { ...release.manifest, functions: change([...release.manifest.functions]) },
  };
}

function withPublicRoutes(env: Environment, publicRoutes: string[]): Environment {
  return { ...env, api: { ...env.api, publicRoutes } };
}

const dev = loadEnvironment({ env: 'dev' });

describe('checkRelease', () => {
  it.each(Object.keys(ENVIRONMENTS))(
    'passes the release for the shipped %s environment',
    (name) => {
      expect(checkRelease(loadEnvironment({ env: name }), release)).toEqual([]);
    }
  );

  it('fails for a public route the environment does not allow, naming the function and the fix', () => {
    expect(checkRelease(withPublicRoutes(dev, []), release)).toEqual([
      {
        path: 'api.publicRoutes',
        message:
          "functions/api/health declares 'GET /health' public (auth: 'none'), which environment 'dev' does not allow; declare it auth: 'jwt' in functions/api/health/function.ts, or add it to api.publicRoutes.",
      },
    ]);
  });

  it('fails once per function, listing each of its public routes the environment does not allow', () => {
    const open = releaseWith((fns) =>
      fns.map((f) =>
        f.name === 'echo' ? { ...f, routes: f.routes.map((r) => ({ ...r, auth: 'none' })) } : f
      )
    );
    expect(checkRelease(withPublicRoutes(dev, ['GET /health']), open)).toEqual([
      {
        path: 'api.publicRoutes',
        message: expect.stringMatching(
          /^functions\/api\/echo declares 'POST \/echo', 'GET \/echo\/\{word\}' public .*; declare them auth: 'jwt' in functions\/api\/echo\/function\.ts, or add them to api\.publicRoutes\.$/
        ),
      },
    ]);
  });

  it('passes public routes the environment lists', () => {
    expect(checkRelease(withPublicRoutes(dev, ['GET /health', 'POST /echo']), release)).toEqual([]);
  });

  const runtimeNamed = releaseWith(([first, ...rest]) => [
    { ...(first as ReleaseFunction), name: 'runtime' },
    ...rest,
  ]);

  it('fails for a function named like the satellite runtime when the environment has satellites', () => {
    expect(checkRelease(dev, runtimeNamed)).toEqual([
      {
        path: 'functions/api/runtime',
        message:
          "a function named 'runtime' would share its staged-release entry with the satellite runtime at 'boston', 'lab'; rename the function (its folder under functions/api).",
      },
    ]);
  });

  it('passes a function named runtime where no satellite stages releases', () => {
    const regionsOnly = { ...dev, locations: dev.locations.filter((l) => l.kind === 'region') };
    expect(checkRelease(regionsOnly, runtimeNamed)).toEqual([]);
  });
});
