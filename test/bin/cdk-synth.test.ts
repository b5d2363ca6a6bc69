import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { dev } from '../../lib/config/environments/dev';

const root = path.join(__dirname, '..', '..');
const cdk = path.join(root, 'node_modules', '.bin', 'cdk');

/** Runs the real `cdk synth`, offline and without AWS credentials, as a user would. */
async function synth(
  ...context: string[]
): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = mkdtempSync(path.join(tmpdir(), 'orbit-cdk-out-'));
  const args = ['synth', '--quiet', '--output', out, ...context.flatMap((c) => ['-c', c])];
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    CDK_DISABLE_VERSION_CHECK: '1',
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(cdk, args, {
      cwd: root,
      env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr, out };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, out };
  }
}

describe('cdk synth', () => {
  it('synthesizes prod offline and lists every stack', async () => {
    const result = await synth('env=prod');
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
  });

  it('synthesizes an environment from a JSON file given with -c config=PATH', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-env-')), 'edge.json');
    writeFileSync(file, JSON.stringify({ ...dev, name: 'edge' }));
    const result = await synth(`config=${file}`);
    expect(result.code).toBe(0);
    expect(existsSync(path.join(result.out, 'Orbit-edge-Location-eu-west-1.template.json'))).toBe(
      true
    );
  });

  it('fails with the field and the fix, and no stack trace, for an invalid environment', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-env-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ ...dev, homeRegion: 'eu-west-3' }));
    const result = await synth(`config=${file}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`orbit: Invalid Orbit environment from ${file}:`);
    expect(result.stderr).toContain(
      "homeRegion: 'eu-west-3' is not the region of any region location"
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
