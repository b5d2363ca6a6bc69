import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { resolveTarget } from '../../lib/cli/target';
import { loadEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';

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
    expect(JSON.parse(json.stdout).locations).toHaveLength(4);
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
    'says what %s needs when given neither --location nor --function',
    async (command, message) => {
      const out = await orbit(command);
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n')).toEqual([`orbit: ${message}`]);
    }
  );

  it("runs governance in the fleet's own control plane and prints what it found", async () => {
    const before = Date.now();
    const out = await orbit('governance', 'run', '--json');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expect.any(Array));
    // The fleet's run saw every location, regions included (all run the satellite runtime here).
    const findings = await fleet.controlPlane.records.findings.list();
    for (const f of findings.filter((f) => !f.resolved)) {
      expect(Date.parse(f.lastSeen)).toBeGreaterThanOrEqual(before - 1_000);
    }
  });

  it('drains a location through the orchestrator and audits it', async () => {
    const drained = await orbit('drain', '--location', 'boston', '--reason', 'test');
    expect(drained.stdout.trim()).toBe('location boston drained');
    const audit = await orbit('audit', '--json');
    expect(JSON.parse(audit.stdout)[0]).toMatchObject({
      action: 'drain',
      outcome: 'done: location boston drained',
    });
    await orbit('restore', '--location', 'boston');
  });

  it.each([
    [['rollout', 'start', 'nope'], /^orbit: rollout start needs a release id/],
    [
      ['rollout', 'start', 'r-0123456789abcdef'],
      /^orbit: start rejected: release r-0123456789abcdef is not staged at/,
    ],
    [['drain', '--location', 'atlantis'], /^orbit: drain rejected: no location 'atlantis'/],
    [['frobnicate'], /^orbit: unknown command 'frobnicate'/],
  ])('fails with one clear line and exit code 1: %j', async (args, message) => {
    const out = await orbit(...args);
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
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
