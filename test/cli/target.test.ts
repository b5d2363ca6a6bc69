import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release } from '../../core/manifest';
import { resolveTarget } from '../../lib/cli/target';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { buildRelease } from '../../lib/release/build';
import { twoLocations } from '../local/environments';

describe('the CLI finding one local fleet among several', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-fleets-'));
  let release: Release;
  let first: LocalFleet;
  let second: LocalFleet;
  let demo: LocalFleet;
  const portOf = (fleet: LocalFleet) => Number(new URL(fleet.storeEndpoint).port);
  const named = (fleet: LocalFleet) =>
    `${fleet.environment.name} on port ${portOf(fleet)} (${path.relative(process.cwd(), fleet.stateFile as string)})`;
  const start = (name: string) =>
    startLocalFleet({ environment: twoLocations(name), basePort: 0, release, stateDir });
  const urlsOf = (fleet: LocalFleet) =>
    Object.fromEntries(fleet.locations.map((l) => [l.id, l.url]));

  beforeAll(async () => {
    release = await buildRelease();
    [first, second, demo] = await Promise.all([start('dev'), start('dev'), start('demo')]);
  });
  afterAll(() => Promise.all([first, second, demo].map((f) => f?.stop())));

  it('keeps one state file per fleet', () => {
    const files = [first, second, demo].map((f) => f.stateFile as string);
    expect(new Set(files).size).toBe(3);
    for (const fleet of [first, second, demo]) {
      expect(path.basename(fleet.stateFile as string)).toBe(
        `local-${fleet.environment.name}-${portOf(fleet)}.json`
      );
    }
  });

  it('fails listing the fleets when more than one could be meant', async () => {
    const all = [demo, first, second].sort((a, b) =>
      (a.stateFile as string).localeCompare(b.stateFile as string)
    );
    await expect(resolveTarget({ stateDir })).rejects.toThrow(
      `3 local fleets are running here: ${all.map(named).join(', ')}; pick one with --port PORT or --env NAME`
    );
    const devs = all.filter((f) => f !== demo);
    await expect(resolveTarget({ stateDir, env: 'dev' })).rejects.toThrow(
      `2 local fleets are running here: ${devs.map(named).join(', ')}; pick one with --port PORT`
    );
  });

  it('picks the fleet --env or --port names', async () => {
    expect((await resolveTarget({ stateDir, env: 'demo' })).urls).toEqual(urlsOf(demo));
    const byPort = await resolveTarget({ stateDir, port: portOf(second) });
    expect(byPort).toMatchObject({ local: true, urls: urlsOf(second) });
    expect(byPort.description).toBe(`the local fleet ${named(second)}`);
  });

  it('fails naming the port when no fleet runs on it, and lists those that do', async () => {
    await expect(resolveTarget({ stateDir, env: 'demo', port: portOf(first) })).rejects.toThrow(
      new RegExp(`^no local fleet of 'demo' on port ${portOf(first)} is running here; running: `)
    );
  });

  it('still finds the others once one of them stops', async () => {
    await second.stop();
    expect(existsSync(second.stateFile as string)).toBe(false);
    expect((await resolveTarget({ stateDir, env: 'dev' })).urls).toEqual(urlsOf(first));
    await first.stop();
    expect((await resolveTarget({ stateDir })).urls).toEqual(urlsOf(demo));
  });
});
