/**
 * The single-table key scheme. Every record in the global table has a string `pk` and `sk`;
 * records that belong together share a `pk`, so one Query reads them all.
 *
 * | record          | pk                   | sk                  |
 * | --------------- | -------------------- | ------------------- |
 * | location        | `LOCATION#<id>`      | `LOCATION`          |
 * | staged release  | `LOCATION#<id>`      | `RELEASE#<release>` |
 *
 * Later records (desired traffic, heartbeats, rollouts, findings, audit, items) extend this
 * table; keep it the one place that says how keys are made.
 */

/** A primary key of the global table. */
export interface TableKey {
  readonly pk: string;
  readonly sk: string;
}

export const keys = {
  location: (locationId: string): TableKey => ({ pk: `LOCATION#${locationId}`, sk: 'LOCATION' }),
  stagedRelease: (locationId: string, releaseId: string): TableKey => ({
    pk: `LOCATION#${locationId}`,
    sk: `RELEASE#${releaseId}`,
  }),
} as const;
