import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import { getItem, type ReadOptions, type RecordTable, setAttributes } from './table';

/**
 * A location's registration (`LOCATION#<id>`/`LOCATION`): facts about it for the CLI and the
 * orchestrator, and the newest staged release, in one small item, so that a satellite finds
 * its first release with one read.
 */
export interface LocationRegistration {
  readonly locationId: string;
  /** Facts a deploy records (kind, region, data region, API URL, …). */
  readonly facts: Readonly<Record<string, string>>;
  /** The release the last deploy staged. */
  readonly latestStaged: string;
}

/**
 * The update a deploy makes to register a location: it sets only what the deploy owns, so
 * the fields other writers keep on the item survive. The CDK records custom resource and
 * the local fleet both send exactly this.
 */
export function registrationUpdate(tableName: string, registration: LocationRegistration) {
  const reserved = Object.keys(registration.facts).filter((k) => RESERVED_FACTS.includes(k));
  if (reserved.length > 0) {
    throw new Error(
      `location ${registration.locationId}: the registration's own fields cannot be facts: ${reserved.join(', ')}`
    );
  }
  return setAttributes(tableName, keys.location(registration.locationId), {
    type: 'location',
    locationId: registration.locationId,
    ...registration.facts,
    latestStaged: registration.latestStaged,
  });
}

/** Fields of the registration item itself, which no fact may overwrite. */
const RESERVED_FACTS = ['pk', 'sk', 'type', 'locationId', 'latestStaged'];

/** The locations' registration records. */
export class RegistrationRecords {
  constructor(private readonly table: RecordTable) {}

  /** Registers the location (or records a newer staged release). */
  async register(registration: LocationRegistration): Promise<void> {
    await this.table.client.send(
      new UpdateCommand(registrationUpdate(this.table.tableName, registration))
    );
  }

  /** The raw registration item, if the location was ever deployed. */
  async get(locationId: string, options: ReadOptions = {}) {
    return getItem(this.table, keys.location(locationId), options);
  }

  /** The release the last deploy staged at the location, if any. */
  async latestStaged(locationId: string): Promise<string | undefined> {
    const id = (await this.get(locationId))?.latestStaged;
    return typeof id === 'string' ? id : undefined;
  }
}
