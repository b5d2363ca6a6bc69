/**
 * The single-table key scheme. Every record in the global table has a string `pk` and `sk`;
 * records that belong together share a `pk`, so one Query reads them all, and IAM policies
 * can allow a function exactly the partitions it needs (`dynamodb:LeadingKeys`).
 *
 * | record                 | pk                   | sk                  | written by            |
 * | ---------------------- | -------------------- | ------------------- | --------------------- |
 * | location               | `LOCATION#<id>`      | `LOCATION`          | deploy                |
 * | staged release         | `LOCATION#<id>`      | `RELEASE#<release>` | deploy                |
 * | location drain         | `LOCATION#<id>`      | `DRAIN`             | orchestrator, CLI     |
 * | desired traffic        | `LOCATION#<id>`      | `DESIRED`           | orchestrator          |
 * | heartbeat (satellite)  | `LOCATION#<id>`      | `HEARTBEAT`         | each runtime process  |
 * | function drain (fleet) | `FUNCTION#<name>`    | `DRAIN`             | orchestrator, CLI     |
 * | item (sample app)      | `ITEMS`              | `ITEM#<id>`         | the `items` function  |
 * | active rollout pointer | `CONTROL`            | `ACTIVE_ROLLOUT`    | orchestrator          |
 * | environment definition | `CONTROL`            | `ENVIRONMENT`       | control-plane deploy  |
 * | rollout                | `ROLLOUT#<id>`       | `ROLLOUT`           | orchestrator          |
 * | intent (command)       | `INTENTS`            | `INTENT#<ms>#<id>`  | CLI; orchestrator     |
 * | audit entry            | `AUDIT`              | `<iso time>#<id>`   | orchestrator, CLI     |
 * | finding                | `FINDINGS`           | `<job>#<subject>`   | governance jobs       |
 *
 * A satellite location may run several runtime processes (an Auto Scaling group): its
 * heartbeat item holds one entry per process in an `instances` map, so it is still one key.
 *
 * Items share one partition so that `GET /items?prefix=` is one ordered Query; DynamoDB
 * splits a hot partition by sort key range when the table has no local secondary index.
 * Later records (desired traffic, heartbeats, rollouts, findings, audit) extend this table;
 * keep it the one place that says how keys are made.
 */

/** A primary key of the global table. */
export interface TableKey {
  readonly pk: string;
  readonly sk: string;
}

/** The partition holding every item of the sample items API. */
export const ITEMS_PARTITION = 'ITEMS';
const ITEM_PREFIX = 'ITEM#';

export const keys = {
  location: (locationId: string): TableKey => ({ pk: `LOCATION#${locationId}`, sk: 'LOCATION' }),
  stagedRelease: (locationId: string, releaseId: string): TableKey => ({
    pk: `LOCATION#${locationId}`,
    sk: `RELEASE#${releaseId}`,
  }),
  locationDrain: (locationId: string): TableKey => ({ pk: `LOCATION#${locationId}`, sk: 'DRAIN' }),
  desiredTraffic: (locationId: string): TableKey => ({
    pk: `LOCATION#${locationId}`,
    sk: 'DESIRED',
  }),
  heartbeat: (locationId: string): TableKey => ({ pk: `LOCATION#${locationId}`, sk: 'HEARTBEAT' }),
  activeRollout: { pk: 'CONTROL', sk: 'ACTIVE_ROLLOUT' } as TableKey,
  environmentDefinition: { pk: 'CONTROL', sk: 'ENVIRONMENT' } as TableKey,
  rollout: (rolloutId: string): TableKey => ({ pk: `ROLLOUT#${rolloutId}`, sk: 'ROLLOUT' }),
  intent: (atMs: number, id: string): TableKey => ({
    pk: 'INTENTS',
    sk: `INTENT#${String(atMs).padStart(15, '0')}#${id}`,
  }),
  audit: (at: string, id: string): TableKey => ({ pk: 'AUDIT', sk: `${at}#${id}` }),
  finding: (job: string, subject: string): TableKey => ({
    pk: 'FINDINGS',
    sk: `${job}#${subject}`,
  }),
  functionDrain: (functionName: string): TableKey => ({
    pk: `FUNCTION#${functionName}`,
    sk: 'DRAIN',
  }),
  item: (id: string): TableKey => ({ pk: ITEMS_PARTITION, sk: `${ITEM_PREFIX}${id}` }),
  /** The sort key prefix of items whose id starts with `idPrefix`. */
  itemPrefix: (idPrefix: string): string => `${ITEM_PREFIX}${idPrefix}`,
  /** The item id of an item sort key. */
  itemIdOf: (sk: string): string => sk.slice(ITEM_PREFIX.length),
} as const;

/** The partitions every function may read: its location's records and its own drain flag. */
export const platformPartitions = (locationId: string, functionName: string): string[] => [
  `LOCATION#${locationId}`,
  `FUNCTION#${functionName}`,
];

/**
 * Every partition of platform records, as `dynamodb:LeadingKeys` patterns (`*` for an id):
 * what the orchestrator reads and writes, and what the CLI may read.
 */
export const PLATFORM_PARTITIONS: readonly string[] = [
  keys.environmentDefinition.pk,
  keys.rollout('*').pk,
  keys.intent(0, '').pk,
  keys.audit('', '').pk,
  keys.finding('', '').pk,
  keys.location('*').pk,
  keys.functionDrain('*').pk,
];
