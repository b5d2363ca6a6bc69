import { type App, Aspects, Tags, Validations } from 'aws-cdk-lib';
import { regionLocations, satelliteLocations } from '../core/environment/fleet';
import type { Environment } from '../core/environment/schema';
import type { Release } from '../core/manifest';
import { stackNames } from '../core/names';
import { ConfigError } from './config/load';
import { checkRelease } from './config/release-rules';
import { checkEnvironment } from './config/rules';
import { DeployabilityChecks } from './governance/deployability/checks';
import { ResidencyChecker } from './governance/residency';
import { OrbitSolutionsChecks } from './governance/solutions-checks';
import { ControlPlaneStack } from './stacks/control-plane-stack';
import { GlobalStateStack } from './stacks/global-state-stack';
import { RegionLocationStack } from './stacks/region-location-stack';
import { SatelliteLocationStack } from './stacks/satellite-location-stack';

/** What {@link addOrbitEnvironment} created, for tests and callers that compose further. */
export interface OrbitStacks {
  readonly globalState: GlobalStateStack;
  readonly controlPlane: ControlPlaneStack;
  readonly regionLocations: readonly RegionLocationStack[];
  readonly satelliteLocations: readonly SatelliteLocationStack[];
}

/** Options of {@link addOrbitEnvironment}. */
export interface OrbitEnvironmentOptions {
  /**
   * Run cdk-nag's AWS Solutions checks on every stack.
   * @default true
   */
  readonly nag?: boolean;
  /**
   * Run Orbit's deployability validation (creation order, MRSC features, name lengths,
   * policy ARNs) on every stack.
   * @default true
   */
  readonly deployability?: boolean;
}

/**
 * Adds every stack of one environment to `app`: the global table in the home region, one
 * stack per location (region locations on Lambda, satellites in their parent region, all
 * with the same release bundles), the control plane, and the guardrails (residency,
 * cdk-nag, the deployability validation, tags).
 *
 * Before building any stack it checks the environment's rules and the release against the
 * environment (public routes, reserved function names), and throws a `ConfigError` listing
 * every problem.
 */
export function addOrbitEnvironment(
  app: App,
  env: Environment,
  release: Release,
  options: OrbitEnvironmentOptions = {}
): OrbitStacks {
  // The environment was checked when it was loaded; an Environment built in code was not.
  const issues = [...checkEnvironment(env), ...checkRelease(env, release)];
  if (issues.length > 0) {
    throw new ConfigError(`'${env.name}' with release ${release.manifest.releaseId}`, issues);
  }
  const globalState = new GlobalStateStack(app, stackNames.globalState(env), { environment: env });
  const locations = regionLocations(env).map((location) => {
    const stack = new RegionLocationStack(app, stackNames.location(env, location), {
      environment: env,
      location,
      release,
    });
    // The replica in the data region must exist before the location writes its records.
    stack.addStackDependency(globalState);
    Tags.of(stack).add('orbit:location', location.id);
    return stack;
  });

  const satellites = satelliteLocations(env).map((location) => {
    const stack = new SatelliteLocationStack(app, stackNames.location(env, location), {
      environment: env,
      location,
      release,
    });
    // Its records go to the replica in its data region, which the global state stack creates.
    stack.addStackDependency(globalState);
    Tags.of(stack).add('orbit:location', location.id);
    return stack;
  });

  const controlPlane = new ControlPlaneStack(app, stackNames.controlPlane(env), {
    environment: env,
    release,
  });
  controlPlane.addStackDependency(globalState);
  // Satellites sign their release with the control plane's release key and signer role.
  for (const satellite of satellites) satellite.addStackDependency(controlPlane);

  Tags.of(app).add('orbit:environment', env.name);
  Aspects.of(app).add(new ResidencyChecker(env.allowedRegions));
  if (options.nag ?? true)
    Validations.of(app).addPlugins(new OrbitSolutionsChecks(app, { verbose: true }));
  if (options.deployability ?? true) Validations.of(app).addPlugins(new DeployabilityChecks());
  return { globalState, controlPlane, regionLocations: locations, satelliteLocations: satellites };
}
