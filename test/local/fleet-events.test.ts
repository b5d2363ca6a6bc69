import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release } from '../../core/manifest';
import type { RolloutEvent } from '../../functions/orchestrator/ports';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import type { LocalFleetState } from '../../lib/local/state-file';
import { buildRelease } from '../../lib/release/build';
import { commandsFor } from '../support/cli';
import { twoLocations, until } from './environments';

/** The same bundles under another release id, beside the release (where runtimes find it). */
function rebuilt(release: Release, releaseId: string): string {
  const dir = path.join(path.dirname(release.dir), releaseId);
  cpSync(release.dir, dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ ...release.manifest, releaseId })
  );
  return dir;
}

describe('rollout events on a running local fleet', () => {
  const environment = twoLocations('dev');
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-events-state-'));
  const outDir = mkdtempSync(path.join(tmpdir(), 'orbit-events-releases-'));
  const lines: string[] = [];
  let release: Release;
  let fleet: LocalFleet;

  beforeAll(async () => {
    release = await buildRelease({ outDir });
    fleet = await startLocalFleet({
      environment,
      basePort: 0,
      release,
      stateDir,
      pullIntervalSeconds: 0.5,
      reconcileIntervalSeconds: 0.5,
      onEvent: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await fleet?.stop();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('lists the transitions of a rollout on GET /events of its control endpoint, and logs them', async () => {
    const state = JSON.parse(readFileSync(fleet.stateFile as string, 'utf8')) as LocalFleetState;
    const events = async (): Promise<RolloutEvent[]> => {
      const res = await fetch(new URL('events', state.controlUrl));
      expect(res.status).toBe(200);
      return ((await res.json()) as { events: RolloutEvent[] }).events;
    };
    expect(await events()).toEqual([]);
    // A wave starts only where heartbeats are fresh: wait for the canary's first.
    await until('the canary to report', async () =>
      (await fleet.controlPlane.records.heartbeats.lastReports(['lab'])).has('lab')
    );
    const cli = commandsFor(fleet);
    const next = 'r-00000000000000e1';
    await cli.stage(rebuilt(release, next));
    await cli.submit({ command: 'start', release: next });
    await until('the first step', async () => (await events()).some((e) => e.kind === 'step'));
    await cli.submit({ command: 'abort' });
    await until('the abort', async () => (await events()).some((e) => e.kind === 'aborted'));

    const seen = await events();
    expect(seen.map((e) => e.kind)).toEqual(['started', 'step', 'aborted']);
    for (const e of seen) expect(e).toMatchObject({ environment: 'dev', release: next });
    expect(seen[1]).toMatchObject({ locations: ['lab'] });
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^started ro-\\S+ \\(${next}\\): started by local:test$`)),
      expect.stringMatching(new RegExp(`^step ro-\\S+ \\(${next}\\): wave canary at 100%$`)),
      expect.stringMatching(new RegExp(`^aborted ro-\\S+ \\(${next}\\): aborted by operator$`)),
    ]);
  });
});
