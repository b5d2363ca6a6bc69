import type { Environment, Location } from './environment/schema';

/**
 * Every name the fleet is known by, in one place: what CloudFormation, Lambda, IAM,
 * CloudWatch and the CLI must agree on. Environment names hold no dash (the schema says so),
 * so no environment's prefix ever matches another's.
 */
type Named = Pick<Environment, 'name'>;

/** The global table's name, the same in every data region. */
export const tableNameOf = (env: Named): string => `orbit-${env.name}`;

/**
 * The prefix of every Lambda function name of an environment's fleet: `orbit-<env>-<function>`.
 * Environment names hold no dash, so `orbit-dev-` never matches another environment's.
 */
export const fleetFunctionPrefix = (env: Named): string => `orbit-${env.name}-`;

/** A fleet function's name (its Lambda name in a region, its host name on a satellite). */
export const fleetFunctionNameOf = (env: Named, functionName: string): string =>
  `${fleetFunctionPrefix(env)}${functionName}`;

/**
 * The alias every region function serves through; the HTTPS API targets it, so its weights
 * are the traffic split, and the orchestrator moves exactly this alias.
 */
export const LIVE_ALIAS = 'live';

/** The orchestrator function of an environment: the control-plane stack and the CLI agree on it. */
export const orchestratorNameOf = (env: Named): string => `orbit-${env.name}-orchestrator`;

/** The orchestrator's own alarms: `errors` (failed runs) and `dead-letters` (undelivered schedules). */
export const orchestratorAlarmNameOf = (env: Named, alarm: 'errors' | 'dead-letters'): string =>
  `${orchestratorNameOf(env)}-${alarm}`;

/** A region location's HTTPS API. */
export const apiNameOf = (env: Named, location: Pick<Location, 'id'>): string =>
  `orbit-${env.name}-${location.id}`;

/**
 * The role a satellite's runtime uses (the instance role, or the role on-prem hosts assume),
 * named so that a site's own IAM policy can name it: at most 59 characters (IAM allows 64).
 */
export const satelliteRoleNameOf = (env: Named, location: Pick<Location, 'id'>): string =>
  `orbit-${env.name}-${location.id}-runtime`;

/**
 * The key prefix under which an environment's satellite stacks publish their assets in the
 * parent region's CDK assets bucket (the `bucketPrefix` of their synthesizer): every
 * release's bundles sit at `<prefix><sha256>.zip`, so the runtime may read any release ever
 * staged, and nothing else of the bucket. Environment names have no dashes or slashes, so no
 * environment's prefix starts with another's.
 */
export const satelliteAssetPrefix = (env: Named): string => `orbit-${env.name}/`;

/**
 * The name prefix of the gate alarms a deploy creates for `release` at a location: the
 * orchestrator lists exactly these (DescribeAlarms by prefix) while it judges that release,
 * so alarms of a release staged later never stand in for the one in its rollout.
 */
export const gateAlarmPrefix = (env: Named, locationId: string, release: string): string =>
  `orbit-${env.name}-${locationId}-${release}-`;

/** The prefix of one function's gate alarms for `release` at a location. */
export const functionGateAlarmPrefix = (
  env: Named,
  locationId: string,
  release: string,
  functionName: string
): string => `${gateAlarmPrefix(env, locationId, release)}${functionName}`;

/**
 * The alias of the environment's release key (an asymmetric KMS key in the home region that
 * signs every release a deploy stages): the key's own id is random, so stacks in other
 * regions, which cannot reference the control plane stack, name it by this alias.
 */
export const releaseKeyAliasOf = (env: Named): string => `alias/orbit-${env.name}-release`;

/** The one role the release key lets sign: deploy-time signers use it in every region. */
export const releaseSignerRoleNameOf = (env: Named): string => `orbit-${env.name}-release-signer`;

/** The deploy-time function that signs the release a satellite location stages (≤ 64). */
export const releaseSignerNameOf = (env: Named, location: Pick<Location, 'id'>): string =>
  `orbit-${env.name}-${location.id}-signer`;

/** The audience of the local fleet's development tokens. */
export const localAudienceOf = (env: Named): string => `orbit-${env.name}-local`;

/** Stack names, stable because they are what `cdk deploy` and CloudFormation know. */
export const stackNames = {
  globalState: (env: Named) => `Orbit-${env.name}-GlobalState`,
  location: (env: Named, location: Pick<Location, 'id'>) =>
    `Orbit-${env.name}-Location-${location.id}`,
  controlPlane: (env: Named) => `Orbit-${env.name}-ControlPlane`,
} as const;
