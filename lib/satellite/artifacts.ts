import * as path from 'node:path';
import { loadRelease, type Release } from '../release/manifest';

/** Where a satellite gets the bundles of a staged release. */
export interface ArtifactSource {
  /** The release on local disk, fetched first if need be. */
  fetch(releaseId: string): Promise<Release>;
}

/**
 * Releases from a directory of built releases (`dist/release/<id>/`): the local fleet's
 * source, and an on-prem host's when releases are copied to it.
 */
export class LocalArtifactSource implements ArtifactSource {
  constructor(private readonly releasesDir: string) {}

  async fetch(releaseId: string): Promise<Release> {
    if (!/^r-[0-9a-f]{16}$/.test(releaseId)) throw new Error(`'${releaseId}' is not a release id`);
    return loadRelease(path.join(this.releasesDir, releaseId));
  }
}
