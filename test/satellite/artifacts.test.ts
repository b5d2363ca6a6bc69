import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
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
  const source = (cacheDir: string) =>
    new S3ArtifactSource({
      records: new Records(client, table.tableName),
      locationId: 'lz1',
      s3: new S3Client({ region: 'us-east-1' }),
      cacheDir,
    });

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
