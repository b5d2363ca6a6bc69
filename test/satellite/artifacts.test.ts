import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Records } from '../../core/records';
import { keys } from '../../core/records/keys';
import { LocalArtifactSource, S3ArtifactSource } from '../../lib/satellite/artifacts';
import { testTableClient } from '../support/handlers';
import { fakeRelease } from '../support/release';
import { createTestTable } from '../support/table';

const RELEASE = 'r-00000000000000a1';
const sha256 = (code: string) => createHash('sha256').update(code).digest('hex');

/** A function asset as `cdk deploy` uploads it: a zip of the function's directory. */
function assetZip(code: string): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'orbit-asset-'));
  writeFileSync(path.join(dir, 'index.js'), code);
  execFileSync('zip', ['-q', '-r', 'asset.zip', 'index.js'], { cwd: dir });
  return readFileSync(path.join(dir, 'asset.zip'));
}

describe('S3ArtifactSource', () => {
  const s3 = mockClient(S3Client);
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const code = 'exports.handler=async()=>({statusCode:200,body:"s3"});';
  const stage = (sha256: string) =>
    client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.stagedRelease('lz1', RELEASE),
          manifest: JSON.stringify({
            releaseId: RELEASE,
            target: 'node20',
            functions: [
              {
                name: 'hello',
                file: 'functions/hello/index.js',
                sha256,
                bytes: code.length,
                routes: [{ method: 'GET', path: '/hello', auth: 'none' }],
                fallback: false,
                table: null,
                maxBodyBytes: 1024,
                memoryMb: 128,
                timeoutSeconds: 3,
              },
            ],
            runtime: { file: 'runtime/index.js', sha256: 'x', bytes: 1 },
          }),
          artifacts: { hello: { bucket: 'assets', key: 'hello.zip' } },
        },
      })
    );
  const source = (
    cacheDir: string,
    options: Partial<ConstructorParameters<typeof S3ArtifactSource>[0]> = {}
  ) =>
    new S3ArtifactSource({
      records: new Records(client, table.tableName),
      locationId: 'lz1',
      s3: new S3Client({ region: 'us-east-1' }),
      cacheDir,
      retryBaseDelayMs: 1,
      ...options,
    });

  /** The fake bucket's objects, by key, and how many GetObjects are running at once. */
  const objects = new Map<string, Buffer>();
  const downloads = { running: 0, most: 0 };
  /**
   * Stages a release of `codes` (function name to code; `runtime` is the runtime bundle) as
   * `cdk deploy` does: each bundle's asset under a key of its hash, as CDK asset keys are.
   */
  const stageBundles = async (releaseId: string, codes: Record<string, string>) => {
    const { runtime = 'runtime v1', ...fns } = codes;
    const artifactOf = (name: string, code: string) => {
      const key = `${name}-${sha256(code)}.zip`;
      objects.set(key, assetZip(code));
      return { bucket: 'assets', key, sha256: sha256(code) };
    };
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.stagedRelease('lz1', releaseId),
          manifest: JSON.stringify({
            releaseId,
            target: 'node20',
            functions: Object.entries(fns).map(([name, code]) => ({
              name,
              file: `functions/${name}/index.js`,
              sha256: sha256(code),
              bytes: code.length,
              routes: [{ method: 'GET', path: `/${name}`, auth: 'none' }],
              fallback: false,
              table: null,
              maxBodyBytes: 1024,
              memoryMb: 128,
              timeoutSeconds: 3,
            })),
            runtime: { file: 'runtime/index.js', sha256: sha256(runtime), bytes: runtime.length },
          }),
          artifacts: {
            ...Object.fromEntries(Object.entries(fns).map(([n, c]) => [n, artifactOf(n, c)])),
            runtime: artifactOf('runtime', runtime),
          },
        },
      })
    );
  };
  const serveObjects = () => {
    s3.reset();
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      downloads.running++;
      downloads.most = Math.max(downloads.most, downloads.running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      downloads.running--;
      const zip = objects.get(input.Key);
      if (!zip) throw new Error(`no object ${input.Key}`);
      return { Body: { transformToByteArray: async () => new Uint8Array(zip) } };
    });
  };
  const keysFetched = () =>
    s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input.Key ?? '');
  const fns = (n: number, variant = 'v1') =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`fn${i}`, `exports.handler=async()=>"${i} ${variant}";`])
    );

  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());
  beforeEach(() => {
    s3.reset();
    const zip = assetZip(code);
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'hello.zip' }).callsFake(async () => ({
      Body: { transformToByteArray: async () => new Uint8Array(zip) },
    }));
  });

  it('fetches each bundle from S3, checks its hash, and keeps the release on disk', async () => {
    await stage(createHash('sha256').update(code).digest('hex'));
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    const release = await source(cacheDir).fetch(RELEASE);
    expect(release.dir).toBe(path.join(cacheDir, RELEASE));
    expect(readFileSync(path.join(release.dir, 'functions/hello/index.js'), 'utf8')).toBe(code);
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    await source(cacheDir).fetch(RELEASE);
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
  });

  it('throws, and keeps nothing, when a bundle does not match its manifest', async () => {
    await stage('0'.repeat(64));
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await expect(source(cacheDir).fetch(RELEASE)).rejects.toThrow(
      /hello of r-00000000000000a1 does not match its manifest/
    );
    expect(existsSync(path.join(cacheDir, RELEASE))).toBe(false);
  });

  it('fetches only the bundle a release changed, not the unchanged ones or the runtime', async () => {
    serveObjects();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await stageBundles('r-00000000000000b1', fns(4));
    await source(cacheDir).fetch('r-00000000000000b1');
    expect(keysFetched()).toHaveLength(5);

    const changed = { ...fns(4), fn2: 'exports.handler=async()=>"2 v2";' };
    await stageBundles('r-00000000000000b2', changed);
    s3.resetHistory();
    const release = await source(cacheDir).fetch('r-00000000000000b2');
    expect(keysFetched()).toEqual([`fn2-${sha256(changed.fn2)}.zip`]);
    for (const [name, code] of Object.entries(changed)) {
      expect(readFileSync(path.join(release.dir, `functions/${name}/index.js`), 'utf8')).toBe(code);
    }
    expect(readFileSync(path.join(release.dir, 'runtime/index.js'), 'utf8')).toBe('runtime v1');
  });

  it('fetches nothing on a restart with a warm cache, even for a release not yet assembled', async () => {
    serveObjects();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await stageBundles('r-00000000000000c1', fns(3));
    await source(cacheDir).fetch('r-00000000000000c1');
    // Same bundles under another release id (a change of declarations only).
    await stageBundles('r-00000000000000c2', fns(3));
    s3.resetHistory();
    await source(cacheDir).fetch('r-00000000000000c1');
    const release = await source(cacheDir).fetch('r-00000000000000c2');
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 0);
    expect(readFileSync(path.join(release.dir, 'functions/fn1/index.js'), 'utf8')).toBe(fns(3).fn1);
  });

  it('retries a corrupted download and keeps the bundle that matches', async () => {
    serveObjects();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await stageBundles('r-00000000000000d1', { hello: code });
    const key = `hello-${sha256(code)}.zip`;
    s3.on(GetObjectCommand, { Key: key })
      .resolvesOnce({
        Body: { transformToByteArray: async () => new Uint8Array([1, 2, 3]) },
      } as never)
      .resolvesOnce({
        Body: { transformToByteArray: async () => new Uint8Array(assetZip('tampered')) },
      } as never)
      .callsFake(async () => ({
        Body: { transformToByteArray: async () => new Uint8Array(objects.get(key) as Buffer) },
      }));
    const release = await source(cacheDir).fetch('r-00000000000000d1');
    expect(keysFetched().filter((k) => k === key)).toHaveLength(3);
    expect(readFileSync(path.join(release.dir, 'functions/hello/index.js'), 'utf8')).toBe(code);
    expect(readdirSync(path.join(cacheDir, 'bundles')).sort()).toEqual(
      [sha256(code), sha256('runtime v1')].sort()
    );
  });

  it('fails naming the bundle when its hash stays wrong, and keeps nothing of it', async () => {
    serveObjects();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await stageBundles('r-00000000000000e1', { hello: code });
    const key = `hello-${sha256(code)}.zip`;
    const tampered = assetZip('tampered');
    s3.on(GetObjectCommand, { Key: key }).callsFake(async () => ({
      Body: { transformToByteArray: async () => new Uint8Array(tampered) },
    }));
    await expect(
      source(cacheDir, { downloadAttempts: 3 }).fetch('r-00000000000000e1')
    ).rejects.toThrow(
      `hello of r-00000000000000e1 does not match its manifest (sha256 ${sha256('tampered')}, after 3 attempts)`
    );
    expect(keysFetched().filter((k) => k === key)).toHaveLength(3);
    expect(readdirSync(path.join(cacheDir, 'bundles'))).not.toContain(sha256(code));
    expect(readdirSync(path.join(cacheDir, 'bundles')).filter((f) => f.startsWith('.tmp'))).toEqual(
      []
    );
    expect(existsSync(path.join(cacheDir, 'r-00000000000000e1'))).toBe(false);
  });

  it('fails without retrying when S3 refuses the object', async () => {
    serveObjects();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await stageBundles('r-00000000000000e2', { hello: code });
    s3.on(GetObjectCommand, { Key: `hello-${sha256(code)}.zip` }).rejects(
      Object.assign(new Error('Access Denied'), { $metadata: { httpStatusCode: 403 } })
    );
    await expect(source(cacheDir).fetch('r-00000000000000e2')).rejects.toThrow(
      `cannot fetch hello of r-00000000000000e2 from s3://assets/hello-${sha256(code)}.zip: Access Denied`
    );
    expect(keysFetched().filter((k) => k.startsWith('hello-'))).toHaveLength(1);
  });

  it('never downloads more than three bundles at a time', async () => {
    serveObjects();
    downloads.most = 0;
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    await stageBundles('r-00000000000000f1', fns(8));
    await source(cacheDir).fetch('r-00000000000000f1');
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 9);
    expect(downloads.most).toBe(3);
  });

  it('writes the cache owner-only: 0600 files, 0700 directories', async () => {
    serveObjects();
    const cacheDir = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-cache-')), 'cache');
    await stageBundles('r-00000000000000f2', fns(2));
    await source(cacheDir).fetch('r-00000000000000f2');
    const modes: string[] = [];
    const walk = (at: string) => {
      const stat = statSync(at);
      modes.push(`${stat.isDirectory() ? 'dir' : 'file'} ${(stat.mode & 0o777).toString(8)}`);
      if (stat.isDirectory()) for (const name of readdirSync(at)) walk(path.join(at, name));
    };
    walk(cacheDir);
    expect(modes.length).toBeGreaterThan(10);
    expect(new Set(modes)).toEqual(new Set(['dir 700', 'file 600']));
  });

  it('throws when the release is not staged at the location', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'orbit-cache-'));
    mkdirSync(cacheDir, { recursive: true });
    await expect(source(cacheDir).fetch('r-00000000000000ff')).rejects.toThrow(
      'release r-00000000000000ff is not staged at lz1 with its artifacts'
    );
  });
});

describe('LocalArtifactSource', () => {
  /** A directory of releases holding one, as the local fleet's `dist/release/`. */
  const releasesDir = () => {
    const release = fakeRelease('local');
    const dir = mkdtempSync(path.join(tmpdir(), 'orbit-releases-'));
    cpSync(release.dir, path.join(dir, release.manifest.releaseId), { recursive: true });
    return { dir, releaseId: release.manifest.releaseId };
  };

  it('reads a release from its directory', async () => {
    const { dir, releaseId } = releasesDir();
    const release = await new LocalArtifactSource(dir).fetch(releaseId);
    expect(release).toMatchObject({ dir: path.join(dir, releaseId), manifest: { releaseId } });
  });

  it('throws when a bundle does not match its manifest, as the S3 source does', async () => {
    const { dir, releaseId } = releasesDir();
    appendFileSync(path.join(dir, releaseId, 'functions/echo/index.js'), '\n// altered');
    await expect(new LocalArtifactSource(dir).fetch(releaseId)).rejects.toThrow(
      `echo of ${releaseId} does not match its manifest`
    );
  });
});
