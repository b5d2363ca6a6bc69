import { satelliteLocations } from '../../core/environment/fleet';
import type { Environment } from '../../core/environment/schema';
import { publicRoutesNotAllowed, type Release, RUNTIME_ARTIFACT } from '../../core/manifest';
import { type ConfigIssue, list } from './rules';

type ReleaseRule = (env: Environment, release: Pick<Release, 'manifest'>) => ConfigIssue[];

const publicRoutesAllowed: ReleaseRule = (env, release) => {
  const forbidden = new Set(publicRoutesNotAllowed(release, env.api.publicRoutes));
  return release.manifest.functions.flatMap((fn) => {
    const keys = fn.routes
      .filter((r) => r.auth === 'none')
      .map((r) => `${r.method} ${r.path}`)
      .filter((key) => forbidden.has(key));
    if (keys.length === 0) return [];
    const one = keys.length === 1;
    return [
      {
        path: 'api.publicRoutes',
        message: `functions/api/${fn.name} declares ${list(keys)} public (auth: 'none'), which environment '${env.name}' does not allow; declare ${one ? 'it' : 'them'} auth: 'jwt' in functions/api/${fn.name}/function.ts, or add ${one ? 'it' : 'them'} to api.publicRoutes.`,
      },
    ];
  });
};

const noFunctionNamedLikeTheRuntime: ReleaseRule = (env, release) => {
  const satellites = satelliteLocations(env).map((l) => l.id);
  if (satellites.length === 0) return [];
  return release.manifest.functions
    .filter((fn) => fn.name === RUNTIME_ARTIFACT)
    .map((fn) => ({
      path: `functions/api/${fn.name}`,
      message: `a function named '${RUNTIME_ARTIFACT}' would share its staged-release entry with the satellite runtime at ${list(satellites)}; rename the function (its folder under functions/api).`,
    }));
};

/** Every smoke check's path is served by a route of the release: else it could only fail. */
const smokeChecksHitRoutes: ReleaseRule = (env, release) => {
  const routes = release.manifest.functions.flatMap((f) => f.routes);
  const matches = (method: string, path: string) =>
    routes.some((r) => {
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) return false;
      const pattern = r.path
        .split('/')
        .map((seg) =>
          /^\{.+\+\}$/.test(seg)
            ? '.+'
            : /^\{.+\}$/.test(seg)
              ? '[^/]+'
              : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        )
        .join('/');
      return new RegExp(`^${pattern}$`).test(path.split('?')[0] as string);
    }) || release.manifest.functions.some((f) => f.fallback);
  return env.rollout.smoke.flatMap((check, i) =>
    matches(check.method, check.path)
      ? []
      : [
          {
            path: `rollout.smoke[${i}].path`,
            message: `${check.method} ${check.path} is served by no route of release ${release.manifest.releaseId}; check a path a function declares (its routes in functions/api/*/function.ts).`,
          },
        ]
  );
};

/** Every rule that relates a release to the environment it is deployed to. */
export const RELEASE_RULES: readonly ReleaseRule[] = [
  publicRoutesAllowed,
  noFunctionNamedLikeTheRuntime,
  smokeChecksHitRoutes,
];

/** All problems with deploying `release` to `env`; empty when it fits. */
export function checkRelease(env: Environment, release: Pick<Release, 'manifest'>): ConfigIssue[] {
  return RELEASE_RULES.flatMap((rule) => rule(env, release));
}
