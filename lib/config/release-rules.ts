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

/** Every rule that relates a release to the environment it is deployed to. */
export const RELEASE_RULES: readonly ReleaseRule[] = [
  publicRoutesAllowed,
  noFunctionNamedLikeTheRuntime,
];

/** All problems with deploying `release` to `env`; empty when it fits. */
export function checkRelease(env: Environment, release: Pick<Release, 'manifest'>): ConfigIssue[] {
  return RELEASE_RULES.flatMap((rule) => rule(env, release));
}
