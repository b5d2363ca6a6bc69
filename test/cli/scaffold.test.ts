import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadRelease, publicRoutesNotAllowed } from '../../core/manifest';
import { scaffoldFunction } from '../../lib/cli/scaffold';
import { loadEnvironment } from '../../lib/config/load';
import { checkRelease } from '../../lib/config/release-rules';
import { buildRelease } from '../../lib/release/build';
import { assertSucceeded, copyProject, runWithin } from '../support/scratch-project';

// Budgets only a hang exhausts (a dev synth takes about 30 s on a busy 2-core machine); each
// test's timeout sits above its budget, so a hang fails with the command's last output.
const BUDGET_MS = 240_000;
const TEST_TIMEOUT_MS = BUDGET_MS + 30_000;

const npx = (project: string, args: string[]) =>
  runWithin(
    path.join(project, 'node_modules', '.bin', args[0] as string),
    args.slice(1),
    project,
    BUDGET_MS
  );

const projects: string[] = [];
afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});
const scratchProject = () => {
  const dir = copyProject();
  projects.push(dir);
  return dir;
};

describe('scaffoldFunction', () => {
  let project: string;
  beforeAll(() => {
    project = scratchProject();
  });

  it.each([
    ['Greetings', 'must be 1-32 lower-case letters, digits or dashes'],
    ['my_function', 'must be 1-32 lower-case letters, digits or dashes'],
    ['9lives', 'starting with a letter'],
    ['x'.repeat(33), 'must be 1-32'],
    ['runtime', "'runtime' is taken by the satellite runtime"],
    ['orchestrator', "'orchestrator' is taken by the orchestrator"],
  ])(
    'throws for the name %j, saying which names are allowed, and writes nothing',
    async (name, message) => {
      await expect(scaffoldFunction(name, { root: project })).rejects.toThrow(message);
      expect(existsSync(path.join(project, 'functions', 'api', name))).toBe(false);
    }
  );

  it('throws naming the folder when the function exists, and overwrites nothing', async () => {
    const declaration = path.join(project, 'functions', 'api', 'health', 'function.ts');
    const before = readFileSync(declaration, 'utf8');
    await expect(scaffoldFunction('health', { root: project })).rejects.toThrow(
      "functions/api/health already exists: function 'health' is there; choose another name, or remove the folder first"
    );
    expect(readFileSync(declaration, 'utf8')).toBe(before);
    expect(existsSync(path.join(project, 'test', 'functions', 'api', 'health.test.ts'))).toBe(
      false
    );
  });

  it('throws naming the root when it holds no functions/api', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'orbit-empty-'));
    projects.push(empty);
    await expect(scaffoldFunction('greetings', { root: empty })).rejects.toThrow(
      `${empty} has no functions/api folder: run this at the root of an Orbit project`
    );
  });

  it('writes the declaration, a handler on zod/mini and a test beside the other function tests', async () => {
    const result = await scaffoldFunction('notes', { root: project });
    expect(result).toEqual({
      files: [
        'functions/api/notes/function.ts',
        'functions/api/notes/index.ts',
        'test/functions/api/notes.test.ts',
      ],
      publicRoutes: [],
    });
    const handler = readFileSync(path.join(project, 'functions/api/notes/index.ts'), 'utf8');
    expect(handler).toContain("import * as z from 'zod/mini';");
    expect(handler).not.toMatch(/from 'zod'/);
    const { declaration } = require(path.join(project, 'functions/api/notes/function.ts'));
    expect(declaration.routes).toEqual([
      { method: 'GET', path: '/notes/{id}', auth: 'jwt' },
      { method: 'POST', path: '/notes', auth: 'jwt' },
    ]);
  });

  it(
    "declares GET /NAME/{id} public when asked and returns exactly the route keys synth's rule wants in api.publicRoutes",
    async () => {
      const publicProject = scratchProject();
      const result = await scaffoldFunction('hello', { root: publicProject, publicRoute: true });
      expect(result.publicRoutes).toEqual(['GET /hello/{id}']);
      const release = await buildRelease({
        root: publicProject,
        outDir: mkdtempSync(path.join(tmpdir(), 'orbit-release-')),
      });
      const dev = loadEnvironment({ env: 'dev' });
      expect(publicRoutesNotAllowed(release, dev.api.publicRoutes)).toEqual(result.publicRoutes);
      expect(checkRelease(dev, release)).toEqual([
        expect.objectContaining({
          path: 'api.publicRoutes',
          message: expect.stringContaining("functions/api/hello declares 'GET /hello/{id}' public"),
        }),
      ]);
      const listed = {
        ...dev,
        api: { ...dev.api, publicRoutes: [...dev.api.publicRoutes, ...result.publicRoutes] },
      };
      expect(checkRelease(listed, release)).toEqual([]);
    },
    TEST_TIMEOUT_MS
  );
});

/**
 * The strongest proof, in a copy of the project: what a developer runs right after
 * `orbit new function greetings` passes, with nothing else edited.
 */
describe('a scaffolded function, in a copy of the project', () => {
  let project: string;
  beforeAll(async () => {
    project = scratchProject();
    await scaffoldFunction('greetings', { root: project });
  });

  it(
    "passes its own test against the test run's dynalite",
    async () => {
      const result = await npx(project, ['jest', 'test/functions/api/greetings.test.ts']);
      assertSucceeded(result);
      expect(result.stderr).toMatch(/Tests:\s+4 passed, 4 total/);
    },
    TEST_TIMEOUT_MS
  );

  it(
    "passes npm run lint's two halves: the type check (its test included) and biome",
    async () => {
      const files = ['functions/api/greetings', 'test/functions/api/greetings.test.ts'];
      // Only the new files and what they import: the whole project's check is lint's, and slow.
      writeFileSync(
        path.join(project, 'tsconfig.scaffold.json'),
        JSON.stringify({ extends: './tsconfig.json', include: [...files, 'types'] })
      );
      assertSucceeded(await npx(project, ['tsc', '-p', 'tsconfig.scaffold.json']));
      assertSucceeded(await npx(project, ['biome', 'check', ...files]));
    },
    TEST_TIMEOUT_MS
  );

  it(
    "builds into the release with npm run build, its bundle on zod/mini near the size of health's",
    async () => {
      const result = assertSucceeded(await runWithin('npm', ['run', 'build'], project, BUDGET_MS));
      const dir = /^release r-[0-9a-f]{16} -> (.+)$/m.exec(result.stdout)?.[1];
      const release = loadRelease(dir as string);
      const bytes = (name: string) =>
        release.manifest.functions.find((f) => f.name === name)?.bytes;
      expect(release.manifest.functions.map((f) => f.name)).toContain('greetings');
      // zod's classic build would add about 330 KB; zod/mini adds about 30.
      expect(bytes('greetings')).toBeLessThan((bytes('health') as number) * 1.25);
    },
    TEST_TIMEOUT_MS
  );

  it(
    'synthesizes with cdk synth -c env=dev',
    async () => {
      const out = path.join(project, 'cdk.out');
      assertSucceeded(
        await npx(project, ['cdk', 'synth', '--quiet', '--output', out, '-c', 'env=dev'])
      );
      const template = JSON.parse(
        readFileSync(path.join(out, 'Orbit-dev-Location-us-east-1.template.json'), 'utf8')
      ) as { Resources: Record<string, { Type: string; Properties?: { FunctionName?: string } }> };
      const functions = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => r.Properties?.FunctionName);
      expect(functions).toContain('orbit-dev-greetings');
    },
    TEST_TIMEOUT_MS
  );
});
