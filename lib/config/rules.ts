import { regionOf } from '../../core/environment/fleet';
import { isGraviton } from '../../core/environment/instance-types';
import { isKnownRegion, MRSC_REGION_SETS, mrscRegionSetOf } from '../../core/environment/regions';
import { type Environment, GATE_RULES } from '../../core/environment/schema';

/** One problem found in an environment: the field it is about and what to do. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `locations[2].zone`; for a release, its source folder. */
  readonly path: string;
  /** What is wrong and how to fix it, in one sentence or two. */
  readonly message: string;
}

type Rule = (env: Environment) => ConfigIssue[];

/** Values quoted and comma-separated, the way messages list them. */
export const list = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

const uniqueLocationIds: Rule = (env) => {
  const seen = new Map<string, number>();
  return env.locations.flatMap((loc, i) => {
    const first = seen.get(loc.id);
    seen.set(loc.id, first ?? i);
    return first === undefined
      ? []
      : [
          {
            path: `locations[${i}].id`,
            message: `'${loc.id}' is already the id of locations[${first}]; give every location its own id.`,
          },
        ];
  });
};

const oneRegionLocationPerRegion: Rule = (env) => {
  const seen = new Map<string, string>();
  return env.locations.flatMap((loc, i) => {
    if (loc.kind !== 'region') return [];
    const other = seen.get(loc.region);
    seen.set(loc.region, other ?? loc.id);
    return other === undefined
      ? []
      : [
          {
            path: `locations[${i}].region`,
            message: `region '${loc.region}' already holds location '${other}'; a region can hold one region location, so remove one of them.`,
          },
        ];
  });
};

const knownRegions: Rule = (env) =>
  env.locations.flatMap((loc, i) => {
    const r = regionOf(loc);
    const field = loc.kind === 'region' ? 'region' : 'parentRegion';
    return isKnownRegion(r)
      ? []
      : [
          {
            path: `locations[${i}].${field}`,
            message: `'${r}' is not an AWS region Orbit knows; use a commercial region code such as us-east-1.`,
          },
        ];
  });

const fleetRegions = (env: Environment) =>
  env.locations.flatMap((l) => (l.kind === 'region' ? [l.region] : []));

const homeRegionIsRegionLocation: Rule = (env) =>
  fleetRegions(env).includes(env.homeRegion)
    ? []
    : [
        {
          path: 'homeRegion',
          message: `'${env.homeRegion}' is not the region of any region location; add a location { kind: 'region', region: '${env.homeRegion}' } or set homeRegion to one of ${list(fleetRegions(env))}.`,
        },
      ];

const satelliteParentInFleet: Rule = (env) => {
  const regions = fleetRegions(env);
  return env.locations.flatMap((loc, i) =>
    loc.kind === 'region' || regions.includes(loc.parentRegion)
      ? []
      : [
          {
            path: `locations[${i}].parentRegion`,
            message: `satellite '${loc.id}' hangs off '${loc.parentRegion}', which is not a region location of this fleet; add a region location in '${loc.parentRegion}' or choose a parentRegion among ${list(regions)}.`,
          },
        ]
  );
};

const satelliteBelongsToParent: Rule = (env) =>
  env.locations.flatMap((loc, i): ConfigIssue[] => {
    if (loc.kind === 'local-zone' && !loc.zone.startsWith(`${loc.parentRegion}-`)) {
      const owner = loc.zone.replace(/-[a-z]+-\d[a-z]$/, '');
      return [
        {
          path: `locations[${i}].zone`,
          message: `Local Zone '${loc.zone}' belongs to '${owner}', not to parent region '${loc.parentRegion}'; set parentRegion to '${owner}' or pick a zone whose id starts with '${loc.parentRegion}-'.`,
        },
      ];
    }
    if (loc.kind === 'outpost') {
      const issues: ConfigIssue[] = [];
      const arnRegion = loc.outpostArn.split(':')[3];
      if (arnRegion !== loc.parentRegion) {
        issues.push({
          path: `locations[${i}].outpostArn`,
          message: `Outpost '${loc.outpostArn}' is homed in '${arnRegion}', not in parent region '${loc.parentRegion}'; set parentRegion to '${arnRegion}'.`,
        });
      }
      if (!loc.availabilityZone.startsWith(loc.parentRegion)) {
        issues.push({
          path: `locations[${i}].availabilityZone`,
          message: `'${loc.availabilityZone}' is not an availability zone of '${loc.parentRegion}'; use the zone the Outpost is anchored to, e.g. '${loc.parentRegion}a'.`,
        });
      }
      return issues;
    }
    return [];
  });

const certificateInParentRegion: Rule = (env) =>
  env.locations.flatMap((loc, i) => {
    if (loc.kind !== 'local-zone' && loc.kind !== 'outpost') return [];
    const certRegion = loc.certificateArn.split(':')[3];
    return certRegion === loc.parentRegion
      ? []
      : [
          {
            path: `locations[${i}].certificateArn`,
            message: `the certificate is in '${certRegion}' but the load balancer of '${loc.id}' runs in '${loc.parentRegion}'; issue or import the certificate in '${loc.parentRegion}'.`,
          },
        ];
  });

const existingSubnetsNameTheirVpc: Rule = (env) =>
  env.locations.flatMap((loc, i) => {
    if (loc.kind !== 'local-zone' && loc.kind !== 'outpost') return [];
    if (loc.subnetIds && !loc.vpcId) {
      return [
        {
          path: `locations[${i}].vpcId`,
          message: `'${loc.id}' names existing subnets; give their VPC as vpcId too (synth reads nothing from the account).`,
        },
      ];
    }
    if (loc.vpcId && !loc.subnetIds) {
      return [
        {
          path: `locations[${i}].subnetIds`,
          message: `'${loc.id}' names a VPC; list the subnets in the zone as subnetIds, or drop vpcId to let Orbit create the network.`,
        },
      ];
    }
    return [];
  });

const instanceTypesOfOneArchitecture: Rule = (env) =>
  env.locations.flatMap((loc, i) => {
    if (loc.kind !== 'local-zone' && loc.kind !== 'outpost') return [];
    const arm = loc.instanceTypes.filter(isGraviton);
    const x86 = loc.instanceTypes.filter((t) => !isGraviton(t));
    return arm.length === 0 || x86.length === 0
      ? []
      : [
          {
            path: `locations[${i}].instanceTypes`,
            message: `${list(arm)} ${arm.length === 1 ? 'is' : 'are'} Graviton (arm64) but ${list(x86)} ${x86.length === 1 ? 'is' : 'are'} x86_64; '${loc.id}' launches one AMI for all its instances, so list instance types of one architecture.`,
          },
        ];
  });

const dataRegionsInFleet: Rule = (env) => {
  const regions = fleetRegions(env);
  const issues: ConfigIssue[] = env.data.regions.flatMap((r, i) =>
    regions.includes(r)
      ? []
      : [
          {
            path: `data.regions[${i}]`,
            message: `'${r}' is not a region location of this fleet; a replica must sit where a location can serve it, so add a region location in '${r}' or remove it from data.regions.`,
          },
        ]
  );
  if (!env.data.regions.includes(env.homeRegion)) {
    issues.push({
      path: 'data.regions',
      message: `the home region '${env.homeRegion}' holds the table's primary and must be listed; add '${env.homeRegion}' to data.regions.`,
    });
  }
  const dupes = env.data.regions.filter((r, i) => env.data.regions.indexOf(r) !== i);
  if (dupes.length > 0) {
    issues.push({
      path: 'data.regions',
      message: `${list(dupes)} listed more than once; list each data region once.`,
    });
  }
  return issues;
};

const strongConsistencyRegionSet: Rule = (env) => {
  const { regions, consistency, witnessRegion } = env.data;
  if (consistency !== 'strong') {
    return witnessRegion === undefined
      ? []
      : [
          {
            path: 'data.witnessRegion',
            message: `a witness region only exists for consistency 'strong'; remove witnessRegion or set data.consistency to 'strong'.`,
          },
        ];
  }
  const sets = Object.entries(MRSC_REGION_SETS)
    .map(([name, set]) => `${name}: ${set.join(', ')}`)
    .join('; ');
  const members = witnessRegion === undefined ? regions : [...regions, witnessRegion];
  const shapeOk = witnessRegion === undefined ? regions.length === 3 : regions.length === 2;
  if (witnessRegion !== undefined && regions.includes(witnessRegion)) {
    return [
      {
        path: 'data.witnessRegion',
        message: `'${witnessRegion}' already holds a replica; the witness must be a third region of the same MRSC set.`,
      },
    ];
  }
  if (!shapeOk || mrscRegionSetOf(members) === undefined) {
    return [
      {
        path: 'data.regions',
        message: `consistency 'strong' needs exactly three data regions, or two plus witnessRegion, all from one MRSC region set (${sets}); got ${list(members)}. Pick regions from one set or use consistency 'eventual'.`,
      },
    ];
  }
  return [];
};

const insideAllowedRegions: Rule = (env) => {
  const allowed = env.allowedRegions;
  const outside = (path: string, what: string, r: string): ConfigIssue[] =>
    allowed.includes(r)
      ? []
      : [
          {
            path,
            message: `${what} is in '${r}', outside allowedRegions (${list(allowed)}); move it or add '${r}' to allowedRegions if the residency policy permits.`,
          },
        ];
  return [
    ...env.locations.flatMap((loc, i) =>
      outside(
        `locations[${i}].${loc.kind === 'region' ? 'region' : 'parentRegion'}`,
        `location '${loc.id}'`,
        regionOf(loc)
      )
    ),
    ...env.data.regions.flatMap((r, i) => outside(`data.regions[${i}]`, 'a table replica', r)),
    ...(env.data.witnessRegion
      ? outside('data.witnessRegion', 'the witness', env.data.witnessRegion)
      : []),
  ];
};

const wavesCoverEveryLocationOnce: Rule = (env) => {
  const ids = new Set(env.locations.map((l) => l.id));
  const placed = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  env.rollout.waves.forEach((wave, w) => {
    wave.locations.forEach((id, j) => {
      const path = `rollout.waves[${w}].locations[${j}]`;
      if (!ids.has(id)) {
        issues.push({
          path,
          message: `'${id}' is not a location of this environment; use one of ${list([...ids])}.`,
        });
      } else if (placed.has(id)) {
        issues.push({
          path,
          message: `'${id}' is already in wave '${placed.get(id)}'; every location belongs to exactly one wave.`,
        });
      } else {
        placed.set(id, wave.name);
      }
    });
  });
  const missing = [...ids].filter((id) => !placed.has(id));
  if (missing.length > 0) {
    issues.push({
      path: 'rollout.waves',
      message: `${list(missing)} ${missing.length === 1 ? 'is' : 'are'} in no wave; add every location to exactly one wave.`,
    });
  }
  const names = env.rollout.waves.map((w) => w.name);
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length > 0) {
    issues.push({
      path: 'rollout.waves',
      message: `wave names ${list(dupes)} are used twice; give every wave its own name.`,
    });
  }
  return issues;
};

/** A wave's batches and failure tolerance fit its locations. */
const wavesBatchSensibly: Rule = (env) =>
  env.rollout.waves.flatMap((wave, i) => {
    const issues: ConfigIssue[] = [];
    const n = wave.locations.length;
    const first =
      wave.batches && ('size' in wave.batches ? wave.batches.size : wave.batches.initial);
    if (first !== undefined && first >= n && n > 0) {
      issues.push({
        path: `rollout.waves[${i}].batches`,
        message: `the first batch (${first}) holds all ${n} locations of wave '${wave.name}', so it batches nothing; make it smaller, or drop batches.`,
      });
    }
    if (wave.minJudged > n) {
      issues.push({
        path: `rollout.waves[${i}].minJudged`,
        message: `wave '${wave.name}' has ${n} location${n === 1 ? '' : 's'}, so ${wave.minJudged} can never be judged and no breach could roll it back; set it to at most ${n}.`,
      });
    }
    return issues;
  });

/** At least one gate rule decides: with every rule in `dryRun`, no rollout could ever breach. */
const someGateRuleDecides: Rule = (env) => {
  const all = (dryRun: readonly string[] | undefined) =>
    dryRun !== undefined && GATE_RULES.every((r) => dryRun.includes(r));
  return [
    ...(all(env.rollout.gates.dryRun) ? [{ path: 'rollout.gates.dryRun' }] : []),
    ...env.rollout.waves.flatMap((w, i) =>
      all(w.gates?.dryRun) ? [{ path: `rollout.waves[${i}].gates.dryRun` }] : []
    ),
  ].map(({ path }) => ({
    path,
    message: `lists every gate rule (${list(GATE_RULES)}), so nothing would ever stop a bad release; leave at least one out.`,
  }));
};

/** Every rule that relates fields to each other, in the order their messages read best. */
export const ENVIRONMENT_RULES: readonly Rule[] = [
  uniqueLocationIds,
  oneRegionLocationPerRegion,
  knownRegions,
  homeRegionIsRegionLocation,
  satelliteParentInFleet,
  satelliteBelongsToParent,
  certificateInParentRegion,
  existingSubnetsNameTheirVpc,
  instanceTypesOfOneArchitecture,
  dataRegionsInFleet,
  strongConsistencyRegionSet,
  insideAllowedRegions,
  wavesCoverEveryLocationOnce,
  wavesBatchSensibly,
  someGateRuleDecides,
];

/** All problems with a schema-valid environment; empty when it is sound. */
export function checkEnvironment(env: Environment): ConfigIssue[] {
  return ENVIRONMENT_RULES.flatMap((rule) => rule(env));
}
