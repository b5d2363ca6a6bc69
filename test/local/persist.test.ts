import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release } from '../../core/manifest';
import { fleetBanner } from '../../lib/local/banner';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { buildRelease } from '../../lib/release/build';
import { twoLocations } from './environments';

/** The same bundles under another release id: what a later build of changed code would be. */
function rebuilt(release: Release, releaseId: string): Release {
  const dir = path.join(path.dirname(release.dir), releaseId);
  cpSync(release.dir, dir, { recursive: true });
  const manifest = { ...release.manifest, releaseId };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, manifest: JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) };
}

describe('a local fleet restarted with --persist', () => {
  const environment = twoLocations('dev');
  const persistDir = mkdtempSync(path.join(tmpdir(), 'orbit-persist-'));
  const outDir = mkdtempSync(path.join(tmpdir(), 'orbit-persist-releases-'));
  // The issuer names its port in its tokens: a restart keeps the ports, as `npm start` does.
  const basePort = 6300 + Math.floor(Math.random() * 200);
  let release: Release;
  let fleet: LocalFleet | undefined;
  let token: string;

  beforeAll(async () => {
    release = await buildRelease({ outDir });
  });
  afterAll(async () => {
    await fleet?.stop();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(persistDir, { recursive: true, force: true });
  });

  it('serves what it staged on its first start, and says so', async () => {
    fleet = await startLocalFleet({ environment, basePort, persistDir, release });
    token = fleet.token;
    const put = await fetch(`${fleet.locations[0]?.url}items/kept`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"kept":true}',
    });
    expect(put.status).toBe(201);
    const banner = fleetBanner(fleet, '1.0');
    expect(banner).toContain(
      `Orbit local fleet 'dev' up in 1.0 s, release ${release.manifest.releaseId}\n`
    );
    expect(banner).not.toContain('no traffic yet');
    await fleet.stop();
    fleet = undefined;
  });

  it('names the release its locations serve, not the one it just staged, after a restart', async () => {
    const later = rebuilt(release, 'r-00000000000000d2');
    fleet = await startLocalFleet({ environment, basePort, persistDir, release: later });
    expect(fleet.serving).toEqual(
      environment.locations.map((l) => ({
        location: l.id,
        stable: release.manifest.releaseId,
        weight: 0,
      }))
    );
    const banner = fleetBanner(fleet, '1.0');
    expect(banner).toContain(`up in 1.0 s, release ${release.manifest.releaseId}\n`);
    expect(banner).toContain(
      'staged r-00000000000000d2 at every location, with no traffic yet: npx orbit rollout start r-00000000000000d2'
    );
    const health = await fetch(`${fleet.locations[0]?.url}health`);
    expect(await health.json()).toMatchObject({ release: release.manifest.releaseId });
  });

  it('still takes the tokens it issued before the restart', async () => {
    for (const location of fleet?.locations ?? []) {
      const res = await fetch(`${location.url}items/kept`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ value: { kept: true } });
    }
  });
});
