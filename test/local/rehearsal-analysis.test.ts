import type { EnvironmentInput } from '../../core/environment/schema';
import type { Release } from '../../core/manifest';
import type { Rollout } from '../../core/records/rollouts';
import { dev } from '../../lib/config/environments/dev';
import { parseEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { buildRelease } from '../../lib/release/build';
import { commandsFor } from '../support/cli';
import { releaseVariant } from '../support/release-variant';

/** A copy of `release` under another id with its health bundle replaced. */
const withHealth = (release: Release, releaseId: string, code: string) =>
  releaseVariant(release, releaseId, { file: 'functions/health/index.js', code });

const rehearsal = (gates: EnvironmentInput['rollout']['gates']) =>
  parseEnvironment(
    {
      ...dev,
      rollout: {
        waves: [
          { name: 'canary', locations: ['lab'], steps: [50, 100], bakeMinutes: 0 },
          { name: 'rest', locations: ['us-east-1', 'eu-west-1', 'boston'], bakeMinutes: 0 },
        ],
        gates,
      },
    },
    'rehearsal'
  );

/** Keeps the canary busy with /health requests, four clients at a time. */
function trafficTo(url: string) {
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      await fetch(`${url}health`).then(
        (r) => r.arrayBuffer(),
        () => undefined
      );
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

async function ended(fleet: LocalFleet, release: string, timeoutMs = 90_000): Promise<Rollout> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = (await commandsFor(fleet).rolloutStatus()).data as Rollout | null;
    if (r?.release === release && r.status !== 'running') return r;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`the rollout of ${release} did not end within ${timeoutMs} ms`);
}

describe('rollout analysis rehearsed on the local fleet', () => {
  let release: Release;
  beforeAll(async () => {
    release = await buildRelease();
  });

  describe('judged against stable', () => {
    let fleet: LocalFleet;
    let stop: () => Promise<void>;
    beforeAll(async () => {
      fleet = await startLocalFleet({
        environment: rehearsal({
          minRequests: 200,
          maxErrorRatePercent: 5,
          maxWaitMinutes: 3,
          compare: { minStableRequests: 200 },
        }),
        basePort: 0,
        release,
        pullIntervalSeconds: 0.5,
        reconcileIntervalSeconds: 0.5,
      });
      stop = trafficTo(fleet.locations.find((l) => l.id === 'lab')?.url as string);
    });
    afterAll(async () => {
      await stop?.();
      await fleet?.stop();
    });

    it('rolls back a candidate that errs at 4%, under the 5% limit, because stable errs at 0% beside it', async () => {
      // Every 25th answer of the candidate's health function is a 500.
      const dir = withHealth(
        release,
        'r-000000000000c0de',
        'let n=0;exports.handler=async()=>(++n%25===0?{statusCode:500,body:"x"}:{statusCode:200,headers:{"content-type":"application/json"},body:"{\\"status\\":\\"ok\\"}"});'
      );
      const cli = commandsFor(fleet);
      await cli.stage(dir);
      await cli.submit({ command: 'start', release: 'r-000000000000c0de' });
      const rollout = await ended(fleet, 'r-000000000000c0de');
      expect(rollout.status).toBe('rolled-back');
      expect(rollout.reason).toMatch(
        /^gate breached at lab: error rate .* against stable's 0\.0% in the same window/
      );
      const lab = rollout.evidence?.lab;
      expect(lab).toMatchObject({ verdict: 'breach', rule: 'compare-errors' });
      expect(lab?.candidate.errorRatePercent).toBeLessThan(5);
      expect(lab?.stable?.errors5xx).toBe(0);
      expect(rollout.touched).toEqual(['lab']);
    });
  });

  describe('without enough evidence by the deadline', () => {
    let fleet: LocalFleet;
    beforeAll(async () => {
      fleet = await startLocalFleet({
        environment: rehearsal({ minRequests: 1_000_000, maxWaitMinutes: 0.1 }),
        basePort: 0,
        release,
        pullIntervalSeconds: 0.5,
        reconcileIntervalSeconds: 0.5,
      });
    });
    afterAll(() => fleet?.stop());

    it('ends the step inconclusive and pauses, saying what evidence is missing', async () => {
      const dir = withHealth(
        release,
        'r-00000000000000aa',
        'exports.handler=async()=>({statusCode:200,headers:{"content-type":"application/json"},body:"{\\"status\\":\\"ok\\"}"});'
      );
      const cli = commandsFor(fleet);
      await cli.stage(dir);
      await cli.submit({ command: 'start', release: 'r-00000000000000aa' });
      const rollout = await ended(fleet, 'r-00000000000000aa');
      expect(rollout.status).toBe('paused');
      expect(rollout.reason).toMatch(
        /^inconclusive: lab: \d+ of 1000000 requests served \(waited 0\.1 min after the bake\)$/
      );
      expect(rollout.history.some((h) => h.event.startsWith('paused: inconclusive'))).toBe(true);
      await cli.submit({ command: 'abort' });
    });
  });
});
