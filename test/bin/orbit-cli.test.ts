import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { tableNameOf } from '../../core/names';
import { Records } from '../../core/records';
import type { Rollout } from '../../core/records/rollouts';
import { createTableClient } from '../../core/records/table';
import { resolveTarget } from '../../lib/cli/target';
import { loadEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { schemaErrors } from '../cli/json-schema';

const run = promisify(execFile);

describe('npx orbit', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-state-'));
  let fleet: LocalFleet;
  const orbit = (...args: string[]) =>
    run(process.execPath, ['bin/orbit-cli.js', ...args, '--state-dir', stateDir]).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      })
    );

  beforeAll(async () => {
    fleet = await startLocalFleet({
      environment: loadEnvironment({ env: 'dev' }),
      basePort: 5600 + Math.floor(Math.random() * 200),
      stateDir,
      reconcileIntervalSeconds: 0.5,
    });
  });
  afterAll(() => fleet?.stop());

  it('shows the fleet as a table, and as JSON with --json', async () => {
    const text = await orbit('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^location\s+kind\s+stable\s+candidate\s+weight\s+health\s+heartbeat\s+findings\s+restarts$/m
    );
    expect(text.stdout).toMatch(/^lab\s+on-prem\s+r-[0-9a-f]{16}\s+-\s+0%/m);
    const json = await orbit('status', '--json');
    const status = JSON.parse(json.stdout);
    expect(schemaErrors('status.schema.json', status)).toEqual([]);
    expect(status.locations).toHaveLength(4);
    // Numbers as numbers, times as ISO strings, absent as null: no display strings.
    expect(status.locations.find((l: { location: string }) => l.location === 'lab')).toMatchObject({
      candidate: null,
      weight: 0,
      heartbeatAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.+Z$/),
    });
  });

  it('plans a rollout before anything moves, saying why rollout start would refuse it', async () => {
    const out = await orbit('rollout', 'plan', fleet.releaseId);
    expect(out.stdout).toContain('canary  lab');
    expect(out.stdout).toMatch(/gates: error rate ≤ 1%/);
    expect(out.stdout).toMatch(/^rollout start would be rejected: .*stable at every location$/m);
  });

  it('has no plan for a release staged nowhere, and says so', async () => {
    const out = await orbit('rollout', 'plan', 'r-0123456789abcdef');
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.trim().split('\n')).toEqual([
      // The orchestrator's words, as rollout start gives them.
      expect.stringMatching(/^orbit: release r-0123456789abcdef is .*staged at .* location of dev/),
    ]);
  });

  it('shows a function drained fleet-wide in status, until it is restored', async () => {
    const drained = await orbit('drain', '--function', 'items', '--reason', 'cli test');
    expect(drained.stdout.trim()).toBe('function items fleet-wide drained');
    const text = await orbit('status');
    expect(text.stdout).toMatch(
      /^function items drained fleet-wide: cli test \(by local:.+ at \d{4}-\d\d-\d\dT.+Z\)$/m
    );
    const json = JSON.parse((await orbit('status', '--json')).stdout);
    expect(json.drainedFunctions).toEqual([
      expect.objectContaining({ function: 'items', reason: 'cli test' }),
    ]);
    await orbit('restore', '--function', 'items');
    expect((await orbit('status')).stdout).not.toMatch(/drained fleet-wide/);
  });

  it.each([
    [
      'drain',
      'drain needs what to drain: --location ID (one location) or --function NAME (one function fleet-wide), e.g. npx orbit drain --location lab',
    ],
    [
      'restore',
      'restore needs what to restore: --location ID (one location) or --function NAME (one function fleet-wide), e.g. npx orbit restore --location lab',
    ],
  ])(
    'says what %s needs when given neither --location nor --function, a usage error (exit 2)',
    async (command, message) => {
      const out = await orbit(command);
      expect(out.code).toBe(2);
      expect(out.stderr.trim().split('\n')).toEqual([`orbit: ${message}`]);
    }
  );

  it("runs governance in the fleet's own control plane and prints what it found", async () => {
    const before = Date.now();
    const out = await orbit('governance', 'run', '--json');
    expect(out.code).toBe(0);
    expect(schemaErrors('governance.schema.json', JSON.parse(out.stdout))).toEqual([]);
    // The fleet's run saw every location, regions included (all run the satellite runtime here).
    const findings = await fleet.controlPlane.records.findings.list();
    for (const f of findings.filter((f) => !f.resolved)) {
      expect(Date.parse(f.lastSeen)).toBeGreaterThanOrEqual(before - 1_000);
    }
  });

  it('drains a location through the orchestrator and audits it', async () => {
    const drained = await orbit('drain', '--location', 'boston', '--reason', 'test', '--json');
    const command = JSON.parse(drained.stdout);
    expect(schemaErrors('command.schema.json', command)).toEqual([]);
    expect(command).toMatchObject({
      command: 'drain',
      status: 'done',
      outcome: 'location boston drained',
    });
    const audit = JSON.parse((await orbit('audit', '--json')).stdout);
    expect(schemaErrors('audit.schema.json', audit)).toEqual([]);
    expect(audit[0]).toMatchObject({ action: 'drain', outcome: 'done: location boston drained' });
    // No table keys in any of them.
    expect(JSON.stringify([command, audit])).not.toMatch(/"(pk|sk)":/);
    await orbit('restore', '--location', 'boston');
  });

  it('shows a rollout as --json in its schema, and follows it with --watch into a pipe', async () => {
    const table = createTableClient({
      region: fleet.environment.homeRegion,
      endpoint: fleet.storeEndpoint,
    });
    const records = new Records(table, tableNameOf(fleet.environment));
    const at = '2026-12-02T00:46:01.084Z';
    const rollout: Rollout = {
      rolloutId: 'ro-0000c11e',
      release: 'r-2222222222222222',
      previous: { lab: fleet.releaseId },
      status: 'completed',
      wave: 1,
      step: 0,
      phase: 'baking',
      bakeUntilMs: Date.parse(at),
      baseline: { lab: { requests: 0, errors5xx: 0 } },
      touched: ['lab'],
      version: 1,
      createdBy: 'local:test',
      createdAt: at,
      updatedAt: at,
      history: [
        { at, event: 'started by local:test' },
        { at, event: 'completed: the release is stable everywhere' },
      ],
    };
    await records.rollouts.save(rollout);
    const json = JSON.parse((await orbit('rollout', 'status', 'ro-0000c11e', '--json')).stdout);
    expect(schemaErrors('rollout-status.schema.json', json)).toEqual([]);
    expect(json).toMatchObject({
      status: 'completed',
      bakeUntil: at,
      wave: { name: 'rest', weight: 1 },
    });
    expect(json).not.toHaveProperty('pk');
    expect(json).not.toHaveProperty('baseline');
    // A finished rollout: one line per fact, then the watch ends by itself.
    const watched = await orbit('rollout', 'status', 'ro-0000c11e', '--watch');
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trimEnd().split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(/^\S+Z {2}ro-0000c11e {2}status: completed$/)
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/event: .* completed: the release is stable everywhere$/)
    );
    expect(watched.stdout).not.toContain('\u001b');
    table.destroy();
  });

  it("prints a location's logs from the fleet's control endpoint, as NDJSON with --json", async () => {
    // Whatever the runtime printed, and one line known to be there.
    fleet.logs.add('lab', 'stderr', 'a line from the test');
    const out = await orbit('logs', '--location', 'lab', '--json');
    expect(out.code).toBe(0);
    const lines = out.stdout
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(schemaErrors('log-line.schema.json', line)).toEqual([]);
    expect(lines.every((l) => l.location === 'lab')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ stream: 'stderr', line: 'a line from the test' });
  });

  it('disconnects a location from its store and reconnects it', async () => {
    const down = await orbit('fault', 'disconnect', '--location', 'lab', '--json');
    expect(down.code).toBe(0);
    expect(schemaErrors('fault.schema.json', JSON.parse(down.stdout))).toEqual([]);
    expect(JSON.parse(down.stdout)).toMatchObject({ location: 'lab', connected: false });
    const up = await orbit('fault', 'reconnect', '--location', 'lab');
    expect(up.stdout).toMatch(/^location lab connected since \d{4}-.+Z$/m);
  });

  it.each([
    [
      ['rollout', 'start', 'r-0123456789abcdef'],
      /^orbit: start rejected: release r-0123456789abcdef is not staged at/,
    ],
    [['drain', '--location', 'atlantis'], /^orbit: drain rejected: no location 'atlantis'/],
  ])('fails with one clear line and exit code 1: %j', async (args, message) => {
    const out = await orbit(...args);
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });

  it.each([
    [['rollout', 'start', 'nope'], /^orbit: rollout start needs a release id/],
    [['frobnicate'], /^orbit: unknown command 'frobnicate'/],
  ])('fails with one clear line and exit code 2 for a usage error: %j', async (args, message) => {
    const out = await orbit(...args);
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });

  it('writes a failure as a JSON problem on stderr with --json', async () => {
    const out = await orbit('drain', '--location', 'atlantis', '--json');
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    const problem = JSON.parse(out.stderr);
    expect(schemaErrors('problem.schema.json', problem)).toEqual([]);
    expect(problem.detail).toMatch(/^drain rejected: no location 'atlantis'/);
  });

  it('plans a rollout of prod with no fleet and no AWS credentials', async () => {
    const out = await run(
      process.execPath,
      ['bin/orbit-cli.js', 'rollout', 'plan', 'r-0123456789abcdef', '--env', 'prod'],
      {
        // Nowhere to find credentials: a plan that asked for them would fail.
        env: {
          PATH: process.env.PATH,
          HOME: mkdtempSync(path.join(tmpdir(), 'orbit-home-')),
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      }
    );
    expect(out.stdout).toMatch(/^rollout plan for r-0123456789abcdef in prod: /);
    expect(out.stdout).toMatch(/^staging not checked: /m);
  });

  it('says how to start a fleet when none runs', async () => {
    const out = await run(process.execPath, [
      'bin/orbit-cli.js',
      'status',
      '--state-dir',
      mkdtempSync(path.join(tmpdir(), 'none-')),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((out as { stderr: string }).stderr).toMatch(
      /^orbit: no local fleet is running here \(start one with npm start\)/
    );
  });
});

/** A function's answer as the Lambda client returns it. */
const payloadOf = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];

describe('resolveTarget for an AWS environment', () => {
  // No local fleet of the environment runs in this state directory.
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-no-fleet-'));
  const sts = mockClient(STSClient);
  const lambda = mockClient(LambdaClient);
  afterEach(() => {
    sts.reset();
    lambda.reset();
  });

  it('records commands as the IAM principal of the credentials', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Arn: 'arn:aws:sts::333333333333:assumed-role/Deployer/alice' });
    const target = await resolveTarget({ env: 'prod', stateDir });
    expect(target).toMatchObject({
      actor: 'arn:aws:sts::333333333333:assumed-role/Deployer/alice',
      local: false,
      records: { tableName: 'orbit-prod' },
    });
  });

  it('wakes the orchestrator with an asynchronous invocation of a reconcile pass', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:iam::333333333333:user/alice' });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const target = await resolveTarget({ env: 'prod', stateDir });
    await target.wake();
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'orbit-prod-orchestrator',
      InvocationType: 'Event',
    });
    const payload = lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array;
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ job: 'reconcile' });
  });

  // Lambda API Reference, Invoke: with RequestResponse the response Payload is what the
  // function returned, and FunctionError is set when it threw (details in the Payload).
  it('runs governance as the orchestrator function runs it: a synchronous invocation of its governance job', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:iam::333333333333:user/alice' });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payloadOf({ job: 'governance', openFindings: 2 }),
    });
    const target = await resolveTarget({ env: 'prod', stateDir });
    expect(await target.governance()).toBe(2);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'orbit-prod-orchestrator',
      InvocationType: 'RequestResponse',
    });
    const payload = lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array;
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ job: 'governance' });
  });

  it('fails saying why when the governance job threw in the orchestrator function', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:iam::333333333333:user/alice' });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payloadOf({ errorType: 'Error', errorMessage: 'the table is unreachable' }),
    });
    const target = await resolveTarget({ env: 'prod', stateDir });
    await expect(target.governance()).rejects.toThrow(
      'the governance job failed in orbit-prod-orchestrator: the table is unreachable'
    );
  });

  it('fails with one line when there are no credentials', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(new Error('Could not load credentials from any providers'));
    await expect(resolveTarget({ env: 'prod', stateDir })).rejects.toThrow(
      'no usable AWS credentials for us-east-1: Could not load credentials from any providers'
    );
  });
});
