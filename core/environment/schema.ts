// The namespace import lets esbuild drop the parts of zod Orbit does not use.
import * as z from 'zod';

/**
 * The shape of one Orbit environment. Parsed once, at the edge (the CDK app, the CLI, the
 * local fleet); everything inside receives the typed `Environment`. Rules that relate
 * fields to each other live in `rules.ts`.
 */

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

const region = z
  .string()
  .regex(AWS_REGION, { error: 'must be an AWS region code such as us-east-1' });

const locationId = z.string().regex(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/, {
  error:
    'must be 2-24 characters of lower-case letters, digits and dashes, starting with a letter (it becomes part of stack and resource names)',
});

const instanceTypes = z
  .array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must look like m5.large' }))
  .min(1, { error: 'list at least one instance type that the zone offers, e.g. ["t3.medium"]' });

const CERTIFICATE_HELP =
  'must be the ARN of an ACM certificate in the parent region for the HTTPS load balancer, e.g. arn:aws:acm:us-west-2:111111111111:certificate/…';
const certificateArn = z
  .string({ error: `is required: a satellite with compute serves HTTPS; it ${CERTIFICATE_HELP}` })
  .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/.+$/, { error: CERTIFICATE_HELP });

const regionLocation = z.strictObject({
  id: locationId,
  kind: z.literal('region'),
  /** The AWS region whose Lambda service runs the functions. */
  region,
});

const satelliteCompute = {
  /** EC2 instance types the zone offers, in order of preference. */
  instanceTypes,
  /** ACM certificate for the HTTPS load balancer in the zone. */
  certificateArn,
  /** Instances kept running. @default 2 */
  capacity: z.int().min(1).max(100).default(2),
  /** Existing subnets (in the zone) to place the runtime in, instead of a network Orbit creates. */
  subnetIds: z
    .array(z.string().regex(/^subnet-[0-9a-f]+$/))
    .min(1)
    .optional(),
  /** The VPC of `subnetIds`; required with them. */
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]+$/, { error: 'must be a VPC id such as vpc-0123abcd' })
    .optional(),
};

const localZoneLocation = z.strictObject({
  id: locationId,
  kind: z.literal('local-zone'),
  parentRegion: region,
  /** The Local Zone id, e.g. `us-west-2-lax-1a`; it names its parent region. */
  zone: z.string().regex(/^[a-z]{2}-[a-z]+-\d-[a-z]+-\d[a-z]$/, {
    error: 'must be a Local Zone id such as us-west-2-lax-1a',
  }),
  ...satelliteCompute,
});

const outpostLocation = z.strictObject({
  id: locationId,
  kind: z.literal('outpost'),
  parentRegion: region,
  outpostArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:outposts:[a-z0-9-]+:\d{12}:outpost\/op-[0-9a-f]+$/, {
      error:
        'must be an Outpost ARN such as arn:aws:outposts:us-east-1:111111111111:outpost/op-0123456789abcdef0',
    }),
  /** The availability zone the Outpost is anchored to (its subnets live there). */
  availabilityZone: z.string().regex(/^[a-z]{2}-[a-z]+-\d[a-z]$/, {
    error: 'must be the availability zone the Outpost is anchored to, e.g. us-east-1a',
  }),
  ...satelliteCompute,
});

const onPremLocation = z.strictObject({
  id: locationId,
  kind: z.literal('on-prem'),
  parentRegion: region,
  /** Where the hosts are, for people reading `orbit status`. */
  site: z.string().min(1).max(200).optional(),
});

const location = z.discriminatedUnion(
  'kind',
  [regionLocation, localZoneLocation, outpostLocation, onPremLocation],
  { error: "kind must be one of 'region', 'local-zone', 'outpost', 'on-prem'" }
);

const wave = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, {
    error: 'must be a short lower-case name such as canary',
  }),
  /** Location ids, in the order traffic reaches them. */
  locations: z.array(z.string()).min(1, { error: 'a wave needs at least one location id' }),
  /** Candidate traffic percentages, increasing, ending at 100. @default [100] */
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .default([100])
    .refine((s) => s.every((p, i) => i === 0 || p > (s[i - 1] as number)), {
      error: 'steps must increase, e.g. [5, 25, 100]',
    })
    .refine((s) => s[s.length - 1] === 100, { error: 'the last step must be 100' }),
  /** Minutes each step must stay healthy before the next one. @default 10 */
  bakeMinutes: z
    .number()
    .min(0)
    .max(24 * 60)
    .default(10),
  /** The wave's own gates, over the environment's. @default - the environment's */
  gates: z.lazy(() => waveGates).optional(),
  /** How the wave's locations join it. @default - all at once */
  batches: z.lazy(() => batches).optional(),
  /**
   * Breached locations the wave tolerates, in percent of those judged: each is returned to
   * stable at once; more than this rolls everything back. @default 0 (any breach rolls back)
   */
  maxBreachedPercent: z.number().min(0).max(100).default(0),
  /** Locations judged before `maxBreachedPercent` may roll the rollout back. @default 1 */
  minJudged: z.int().min(1).default(1),
});

/** The rules a gate judges by, as verdicts and `dryRun` name them. */
export const GATE_RULES = [
  'alarm',
  'error-rate',
  'p99',
  'compare-errors',
  'compare-latency',
] as const;
export type GateRule = (typeof GATE_RULES)[number];

const compareFields = {
  /**
   * Confidence (percent) a statistical rule needs before it breaches: the candidate's error
   * rate above the limit (exact binomial test) or above the stable release's in the same
   * window (one-sided Fisher exact test). @default 95
   */
  confidencePercent: z
    .number({ error: 'must be a percentage such as 95' })
    .min(50, { error: 'must be at least 50 (a coin flip decides nothing)' })
    .max(99.99, { error: 'must be below 100: no finite sample reaches certainty' }),
  /** Stable requests a step needs in its window before the comparison may decide. @default 50 */
  minStableRequests: z.int().min(1),
  /** Highest ratio of the candidate's p99 to the stable release's in the same window. @default 1.5 */
  maxP99Ratio: z.number().min(1, { error: 'must be at least 1 (1 = no slower than stable)' }),
  /** A p99 this close to stable's (in ms) never counts as slower, whatever the ratio. @default 50 */
  minP99DifferenceMs: z.int().min(0),
  /**
   * Requests behind each release's p99 before latencies are compared: a p99 of fewer than a
   * hundred requests is their slowest one (a warm-up, a GC pause). @default 200
   */
  minLatencySamples: z.int().min(1),
};

/** How a step's candidate is judged against the stable release serving beside it. */
const compare = z.strictObject({
  confidencePercent: compareFields.confidencePercent.default(95),
  minStableRequests: compareFields.minStableRequests.default(50),
  maxP99Ratio: compareFields.maxP99Ratio.default(1.5),
  minP99DifferenceMs: compareFields.minP99DifferenceMs.default(50),
  minLatencySamples: compareFields.minLatencySamples.default(200),
});

/** A wave's own comparison settings: the fields given replace the environment's. */
const waveCompare = z.strictObject({
  confidencePercent: compareFields.confidencePercent.optional(),
  minStableRequests: compareFields.minStableRequests.optional(),
  maxP99Ratio: compareFields.maxP99Ratio.optional(),
  minP99DifferenceMs: compareFields.minP99DifferenceMs.optional(),
  minLatencySamples: compareFields.minLatencySamples.optional(),
});

const gateFields = {
  /** Highest error rate (5xx and crashes, in percent of requests) a step may show. @default 1 */
  maxErrorRatePercent: z.number().gt(0).max(100),
  /** Highest p99 latency in milliseconds a step may show. @default 2000 */
  maxP99LatencyMs: z.int().positive(),
  /** Requests a location must have served at a step before its gate may pass. @default 50 */
  minRequests: z.int().min(0),
  /**
   * Minutes a step waits, once its bake is over, for evidence that has not arrived (a fresh
   * heartbeat, enough requests, a drained location restored, a comparison that can decide)
   * before the step is `inconclusive`: a dead location never stalls a rollout silently.
   * @default 10
   */
  maxWaitMinutes: z
    .number({ error: 'must be a number of minutes, e.g. 10' })
    .gt(0, { error: 'must be more than 0 minutes, e.g. 10' })
    .max(24 * 60, { error: 'must be at most 1440 minutes (a day)' }),
  /**
   * What an `inconclusive` step does: `pause` the rollout with the reason (an operator
   * resumes or aborts it) or `rollback` every location it touched. @default 'pause'
   */
  onInconclusive: z.enum(['pause', 'rollback'], { error: "must be 'pause' or 'rollback'" }),
  /** The candidate against the stable release. */
  compare,
  /**
   * Rules evaluated and reported but never deciding: try a new gate on live traffic. @default []
   */
  dryRun: z.array(
    z.enum(GATE_RULES, { error: `must be one of ${GATE_RULES.map((r) => `'${r}'`).join(', ')}` })
  ),
};

const gates = z.strictObject({
  maxErrorRatePercent: gateFields.maxErrorRatePercent.default(1),
  maxP99LatencyMs: gateFields.maxP99LatencyMs.default(2000),
  minRequests: gateFields.minRequests.default(50),
  maxWaitMinutes: gateFields.maxWaitMinutes.default(10),
  onInconclusive: gateFields.onInconclusive.default('pause'),
  compare: compare.prefault({}),
  dryRun: gateFields.dryRun.default([]),
});

/** A wave's own gates: any field given replaces the environment's for that wave. */
const waveGates = z.strictObject({
  maxErrorRatePercent: gateFields.maxErrorRatePercent.optional(),
  maxP99LatencyMs: gateFields.maxP99LatencyMs.optional(),
  minRequests: gateFields.minRequests.optional(),
  maxWaitMinutes: gateFields.maxWaitMinutes.optional(),
  onInconclusive: gateFields.onInconclusive.optional(),
  compare: waveCompare.optional(),
  dryRun: gateFields.dryRun.optional(),
});

/**
 * How a wave's locations join it: in batches of a fixed `size`, or an exponential ramp
 * (`initial` locations, then each batch `factor` times the one before, as AWS IoT Jobs'
 * `exponentialRate`). Each batch goes through the wave's steps before the next one starts.
 */
const batches = z.union(
  [
    z.strictObject({ size: z.int().min(1, { error: 'a batch holds at least one location' }) }),
    z.strictObject({
      initial: z.int().min(1, { error: 'the first batch holds at least one location' }),
      factor: z
        .number()
        .gt(1, { error: 'must be more than 1, e.g. 2 (each batch twice the one before)' })
        .max(10, { error: 'must be at most 10' }),
    }),
  ],
  { error: 'must be { size: N } or { initial: N, factor: F }' }
);

const smokeCheck = z.strictObject({
  /** What the check is called in the rollout's history. @default - `METHOD path` */
  name: z.string().min(1).max(64).optional(),
  /** @default 'GET' */
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  path: z.string().regex(/^\/[^\s]*$/, { error: 'must be a path such as /health' }),
  /** A JSON body to send. @default - none */
  body: z.record(z.string(), z.unknown()).optional(),
  /** The status the candidate must answer. @default 200 */
  expectStatus: z.int().min(100).max(599).default(200),
  /**
   * Fields of the JSON answer that must hold these values, by dotted path (`status`,
   * `checks.table.ok`). @default - the body is not checked
   */
  expectJson: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
    .optional(),
  /** @default 5000 */
  timeoutMs: z.int().min(100).max(60_000).default(5_000),
});

/** The rollout transitions events are published for. */
export const ROLLOUT_EVENTS = [
  'started',
  'step',
  'paused',
  'resumed',
  'inconclusive',
  'breached',
  'rolled-back',
  'aborted',
  'completed',
  'smoke-failed',
] as const;
export type RolloutEventKind = (typeof ROLLOUT_EVENTS)[number];

const notifications = z.strictObject({
  /**
   * An SNS topic for alerts: rollout events go to it through an EventBridge rule, and the gate
   * alarms notify it. @default - events are published to the default event bus only
   */
  topicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, {
      error: 'must be an SNS topic ARN, e.g. arn:aws:sns:us-east-1:123456789012:orbit-alerts',
    })
    .optional(),
  /** HTTP endpoints told of rollout events (POST, JSON, signed with HMAC-SHA256). @default [] */
  webhooks: z
    .array(
      z.strictObject({
        url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
        /**
         * The SSM SecureString parameter holding the signing secret (the orchestrator reads
         * it). @default - unsigned
         */
        secretParameter: z
          .string()
          .regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, {
            error: 'must be an SSM parameter name such as /orbit/prod/webhook',
          })
          .optional(),
        /** @default - every event */
        events: z.array(z.enum(ROLLOUT_EVENTS)).min(1).optional(),
      })
    )
    .default([]),
});

const httpsUrl = z.url({
  protocol: /^https$/,
  error: 'must be an https:// URL',
});

const auth = z.strictObject(
  {
    /** The token issuer (`iss`), e.g. a Cognito user pool or an OIDC provider. */
    issuer: httpsUrl,
    /** Accepted audiences (`aud`, or `client_id` when a token has no `aud`). */
    audience: z.array(z.string().min(1)).min(1, { error: 'list at least one audience' }),
  },
  {
    error:
      "is required: routes with auth 'jwt' are verified against it; e.g. { issuer: 'https://login.example.com/', audience: ['orbit-api'] }",
  }
);

const ORIGIN = /^(\*|https?:\/\/[a-z0-9.-]+(:\d+)?)$/;
const cors = z.strictObject({
  /** Origins allowed to call the API from a browser, e.g. `https://app.example.com`, or `*`. */
  allowOrigins: z
    .array(
      z.string().regex(ORIGIN, {
        error: 'must be an origin such as https://app.example.com (no path), or *',
      })
    )
    .min(1, { error: 'list at least one origin' }),
  /** @default ['authorization', 'content-type', 'if-match', 'if-none-match'] */
  allowHeaders: z
    .array(z.string())
    .default(['authorization', 'content-type', 'if-match', 'if-none-match']),
  /** @default ['etag', 'location', 'retry-after', 'x-orbit-location', 'x-orbit-release'] */
  exposeHeaders: z
    .array(z.string())
    .default(['etag', 'location', 'retry-after', 'x-orbit-location', 'x-orbit-release']),
  /** How long browsers may cache a preflight answer. @default 600 */
  maxAgeSeconds: z.int().min(0).max(86_400).default(600),
});

/** The schema of one environment, as written in `lib/config/environments/*.ts` or JSON. */
export const environmentSchema = z.strictObject({
  /** `dev`, `staging`, `prod`, …: part of every stack and resource name. */
  name: z.string().regex(/^[a-z][a-z0-9]{0,11}$/, {
    error: 'must be 1-12 lower-case letters or digits, starting with a letter',
  }),
  /** The AWS account every stack of the environment deploys to. */
  account: z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' }),
  /** Where the orchestrator and the table's primary live; must be a region location. */
  homeRegion: region,
  /** Residency policy: no location, replica or witness may sit outside these regions. */
  allowedRegions: z.array(region).min(1, { error: 'list at least one region' }),
  locations: z.array(location).min(1, { error: 'an environment needs at least one location' }),
  data: z.strictObject({
    /** Regions holding a replica of the global table; must include the home region. */
    regions: z.array(region).min(1, { error: 'list at least the home region' }),
    /** `eventual` (MREC) or `strong` (MRSC). @default 'eventual' */
    consistency: z.enum(['eventual', 'strong']).default('eventual'),
    /** MRSC only: a third region that votes but holds no data. */
    witnessRegion: region.optional(),
  }),
  rollout: z.strictObject({
    waves: z.array(wave).min(1, { error: 'list at least one wave' }),
    gates: gates.prefault({}),
    /** Checks run against the candidate at each location before it gets traffic. @default [] */
    smoke: z.array(smokeCheck).default([]),
    /** Where rollout events go besides the audit log. */
    notifications: notifications.prefault({}),
  }),
  /** Who may call `jwt` routes: one issuer, honoured at every kind of location. */
  auth,
  governance: z
    .strictObject({
      /** How often the governance jobs (drift, stale heartbeats, policy) run. @default 15 */
      intervalMinutes: z.int().min(1).max(1440).default(15),
      /** Drain a satellite whose heartbeat went stale (3 missed intervals). @default false */
      autoDrainStale: z.boolean().default(false),
    })
    .prefault({}),
  api: z
    .strictObject({
      /** Cross-origin access for browsers. @default - none */
      cors: cors.optional(),
      /**
       * Routes allowed to be public (`auth: 'none'`), as route keys; any other public route
       * fails synth and is a governance finding. @default ['GET /health']
       */
      publicRoutes: z
        .array(
          z.string().regex(/^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \/\S*$/, {
            error: "must be a route key such as 'GET /health'",
          })
        )
        .default(['GET /health']),
      /** Steady-state requests per second each regional API accepts. @default 1000 */
      rateLimit: z.int().positive().default(1000),
      /** Burst of requests each regional API accepts. @default 500 */
      burstLimit: z.int().positive().default(500),
      /**
       * A cookie carrying a client's affinity key at satellites, for clients that cannot send
       * the `x-orbit-affinity` header (browsers). @default - the header only
       */
      affinityCookie: z
        .string()
        .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,64}$/, {
          error: "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~), e.g. orbit-affinity",
        })
        .optional(),
    })
    .prefault({}),
  /** How satellites behave on their own. */
  satellite: z
    .strictObject({
      /**
       * Minutes a satellite cut off from the network keeps verifying tokens with the issuer's
       * keys it holds, counted from the issuer's last answer; past it, `jwt` routes answer 503
       * `issuer-unavailable` (public routes keep serving). @default 1440 (a day)
       */
      offlineMaxMinutes: z
        .number({ error: 'must be a number of minutes, e.g. 1440 (a day)' })
        .gt(0, { error: 'must be more than 0 minutes, e.g. 1440 (a day)' })
        .max(30 * 24 * 60, { error: 'must be at most 43200 minutes (30 days)' })
        .default(24 * 60),
    })
    .prefault({}),
});

/** An environment as a user writes it (defaults not yet applied). */
export type EnvironmentInput = z.input<typeof environmentSchema>;
/** A parsed environment with every default applied. */
export type Environment = z.output<typeof environmentSchema>;
export type Location = Environment['locations'][number];
export type LocationKind = Location['kind'];
export type RegionLocation = Extract<Location, { kind: 'region' }>;
export type SatelliteLocation = Exclude<Location, RegionLocation>;
export type Wave = Environment['rollout']['waves'][number];
