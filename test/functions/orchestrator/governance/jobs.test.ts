import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Finding } from '../../../../core/records/findings';
import { GOVERNANCE_JOBS, type GovernanceJob } from '../../../../functions/orchestrator/governance';

/** The kinds of finding, spelt out so that a kind added to `Finding['job']` fails to compile here. */
const FINDING_KINDS = Object.keys({
  drift: true,
  'stale-heartbeat': true,
  policy: true,
  disconnected: true,
  'refused-release': true,
} satisfies Record<Finding['job'], true>);

const FOLDER = path.join(__dirname, '../../../../functions/orchestrator/governance');
/** Every module of the folder but the job interfaces, the words and the table itself. */
const JOB_MODULES = readdirSync(FOLDER)
  .filter((f) => f.endsWith('.ts') && !['job.ts', 'words.ts', 'index.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

const isJob = (value: unknown): value is GovernanceJob =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as GovernanceJob).name === 'string' &&
  typeof (value as GovernanceJob).run === 'function' &&
  typeof (value as GovernanceJob).owns === 'function';

describe('GOVERNANCE_JOBS', () => {
  it('names every job once', () => {
    const names = GOVERNANCE_JOBS.map((j) => j.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(GOVERNANCE_JOBS.map((j) => [j.name, j.finding]))(
    'has %s write a kind of finding there is (%s)',
    (_, finding) => {
      expect(FINDING_KINDS).toContain(finding);
    }
  );

  it('finds the job modules it checks', () => {
    expect(JOB_MODULES.length).toBeGreaterThan(0);
  });

  it.each(JOB_MODULES)('lists the job of %s.ts', async (module) => {
    const exported = Object.values(await import(path.join(FOLDER, module))).filter(isJob);
    expect(exported).toHaveLength(1);
    expect(GOVERNANCE_JOBS).toContain(exported[0]);
  });

  it('lists no job but those of the modules', async () => {
    const jobs = await Promise.all(
      JOB_MODULES.map(async (m) => Object.values(await import(path.join(FOLDER, m))).filter(isJob))
    );
    expect([...GOVERNANCE_JOBS].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      jobs.flat().sort((a, b) => a.name.localeCompare(b.name))
    );
  });
});
