import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release } from '../../core/manifest';
import { dev } from '../../lib/config/environments/dev';
import { sharedRelease } from '../support/release';
import { cdkSynth, sharedSynth } from '../support/synth';

// A budget that only a hang exhausts: a synth of prod takes about 25 s on an idle 2-core
// machine. Each test's own timeout sits above it, so a hang fails with the synth's reason
// (and its last output), never with jest's bare timeout.
const SYNTH_BUDGET_MS = 240_000;
const TEST_TIMEOUT_MS = SYNTH_BUDGET_MS + 30_000;

describe('cdk synth', () => {
  let release: Release;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'orbit-cdk-synth-'));
    release = await sharedRelease();
  }, TEST_TIMEOUT_MS);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const configFile = (name: string, environment: unknown) => {
    const file = path.join(mkdtempSync(path.join(scratch, 'env-')), `${name}.json`);
    writeFileSync(file, JSON.stringify(environment));
    return file;
  };

  it(
    'synthesizes prod offline and lists every stack',
    async () => {
      // Synthesized once per run and shared; the release is the one built for this run.
      const result = await sharedSynth(
        'prod',
        ['env=prod', `release=${release.dir}`],
        SYNTH_BUDGET_MS
      );
      expect(result.code).toBe(0);
      const listed = `${result.stdout}${result.stderr}`;
      for (const name of [
        'Orbit-prod-GlobalState',
        'Orbit-prod-Location-us-east-1',
        'Orbit-prod-Location-ap-southeast-2',
      ]) {
        expect(listed).toContain(name);
        expect(existsSync(path.join(result.out, `${name}.template.json`))).toBe(true);
      }
    },
    TEST_TIMEOUT_MS
  );

  it(
    'synthesizes an environment from a JSON file given with -c config=PATH, building the release itself',
    async () => {
      const file = configFile('edge', { ...dev, name: 'edge' });
      const out = path.join(scratch, 'edge.out');
      const result = await cdkSynth([`config=${file}`], out, SYNTH_BUDGET_MS);
      expect(result.code).toBe(0);
      expect(existsSync(path.join(out, 'Orbit-edge-Location-eu-west-1.template.json'))).toBe(true);
    },
    TEST_TIMEOUT_MS
  );

  it(
    'fails with the field and the fix, and no stack trace, for an invalid environment',
    async () => {
      const file = configFile('bad', { ...dev, homeRegion: 'eu-west-3' });
      const result = await cdkSynth(
        [`config=${file}`],
        path.join(scratch, 'bad.out'),
        SYNTH_BUDGET_MS
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`orbit: Invalid Orbit environment from ${file}:`);
      expect(result.stderr).toContain(
        "homeRegion: 'eu-west-3' is not the region of any region location"
      );
      expect(result.stderr).not.toMatch(/^\s+at /m);
    },
    TEST_TIMEOUT_MS
  );

  it(
    'fails before building any stack, naming the field and the fix, for a release the environment does not allow',
    async () => {
      const file = configFile('strict', { ...dev, api: { ...dev.api, publicRoutes: [] } });
      const out = path.join(scratch, 'strict.out');
      const result = await cdkSynth(
        [`config=${file}`, `release=${release.dir}`],
        out,
        SYNTH_BUDGET_MS
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        `orbit: Invalid Orbit environment 'dev' with release ${release.manifest.releaseId}:`
      );
      // One line per public route of the release: health's, and those of any function added.
      expect(result.stderr).toContain(
        "api.publicRoutes: functions/api/health declares 'GET /health' public (auth: 'none'), which environment 'dev' does not allow; declare it auth: 'jwt' in functions/api/health/function.ts, or add it to api.publicRoutes."
      );
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(path.join(out, 'Orbit-dev-GlobalState.template.json'))).toBe(false);
    },
    TEST_TIMEOUT_MS
  );

  it(
    'fails with the reason and kills cdk and the app it started when a synth overruns its budget',
    async () => {
      const out = path.join(scratch, 'overrun.out');
      // No synth finishes in 300 ms; the budget must end it, not jest.
      await expect(cdkSynth(['env=prod'], out, 300)).rejects.toThrow(
        /^cdk synth --quiet --output .*overrun\.out -c env=prod did not finish within its budget of 0\.3 s and was killed/
      );
      const running = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      expect(running.split('\n').filter((line) => line.includes(out))).toEqual([]);
    },
    TEST_TIMEOUT_MS
  );
});
