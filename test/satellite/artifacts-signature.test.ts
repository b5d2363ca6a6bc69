import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { Release, ReleaseManifest } from '../../core/manifest';
import { Records } from '../../core/records';
import { refusedReleases } from '../../functions/orchestrator/governance/refused-releases';
import { openLocalReleaseKey } from '../../lib/local/release-key';
import { LocalArtifactSource, S3ArtifactSource } from '../../lib/satellite/artifacts';
import {
  ReleaseRefusedError,
  ReleaseVerifier,
  releaseKeyFrom,
} from '../../lib/satellite/release-signature';
import { governanceContext } from '../functions/orchestrator/governance/context';
import { testTableClient } from '../support/handlers';
import { fakeRelease } from '../support/release';
import { createTestTable } from '../support/table';

/**
 * Every signature case of a satellite's release load, against real release directories and
 * a real DynamoDB-compatible store: a release loads only if its staged-release record carries
 * the environment's signature over its manifest and every bundle matches its signed hash;
 * anything else is refused, recorded on the record and reported by governance.
 */
describe('signed releases at a satellite', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const LOCATION = 'boston';
  const ENV = 'dev';
  const key = openLocalReleaseKey();
  const otherKey = openLocalReleaseKey();
  const lines: string[] = [];
  let releasesDir: string;
  let a: Release;
  let b: Release;

  const verifier = (environment = ENV) =>
    new ReleaseVerifier({
      environment,
      key: releaseKeyFrom(key.publicKey),
      records,
      locationId: LOCATION,
      instanceId: 'host-1',
      log: (line) => lines.push(line),
    });
  /** Copies a built release into the releases directory, as `dist/release/<id>/`. */
  const place = (release: Release, id = release.manifest.releaseId): string => {
    const dir = path.join(releasesDir, id);
    cpSync(release.dir, dir, { recursive: true });
    return dir;
  };
  const stage = (releaseId: string, manifest: ReleaseManifest, signature?: string) =>
    records.stagedReleases.stage({
      locationId: LOCATION,
      releaseId,
      manifest: JSON.stringify(manifest),
      ...(signature ? { signature } : {}),
    });
  const refusal = async (releaseId: string) =>
    (await records.stagedReleases.get(LOCATION, releaseId, { consistent: true }))?.refusal;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  beforeEach(() => {
    releasesDir = mkdtempSync(path.join(tmpdir(), 'orbit-signed-'));
    a = fakeRelease(`signed-a-${Math.random()}`);
    b = fakeRelease(`signed-b-${Math.random()}`);
    lines.length = 0;
  });
  afterAll(() => table.drop());

  it('loads a release signed for the environment, every bundle matching', async () => {
    place(a);
    await stage(a.manifest.releaseId, a.manifest, key.sign(ENV, a.manifest));
    const release = await new LocalArtifactSource(releasesDir, verifier()).fetch(
      a.manifest.releaseId
    );
    expect(release.manifest.releaseId).toBe(a.manifest.releaseId);
    expect(lines).toEqual([]);
    expect(await refusal(a.manifest.releaseId)).toBeUndefined();
  });

  it('refuses a tampered bundle, logs it and records the refusal', async () => {
    const dir = place(a);
    await stage(a.manifest.releaseId, a.manifest, key.sign(ENV, a.manifest));
    writeFileSync(path.join(dir, 'functions/echo/index.js'), 'exports.handler=async()=>"evil"');
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId)
    ).rejects.toThrow(ReleaseRefusedError);
    expect(lines).toEqual([
      expect.stringMatching(/refused release r-\w+ at boston: echo does not match its manifest/),
    ]);
    expect(await refusal(a.manifest.releaseId)).toEqual({
      reason: expect.stringContaining('echo does not match its manifest'),
      at: expect.any(String),
      instanceId: 'host-1',
    });
  });

  it('refuses a tampered runtime bundle', async () => {
    const dir = place(a);
    await stage(a.manifest.releaseId, a.manifest, key.sign(ENV, a.manifest));
    writeFileSync(path.join(dir, 'runtime/index.js'), 'process.exit(1)');
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId)
    ).rejects.toThrow(/runtime does not match its manifest/);
  });

  it('refuses a manifest whose hashes were changed and re-signed with another key', async () => {
    const dir = place(a);
    const evil = 'exports.handler=async()=>"evil"';
    writeFileSync(path.join(dir, 'functions/echo/index.js'), evil);
    const forged: ReleaseManifest = JSON.parse(
      readFileSync(path.join(dir, 'manifest.json'), 'utf8')
    );
    const sha = createHash('sha256').update(evil).digest('hex');
    const manifest = {
      ...forged,
      functions: forged.functions.map((f) => (f.name === 'echo' ? { ...f, sha256: sha } : f)),
    };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await stage(a.manifest.releaseId, manifest, otherKey.sign(ENV, manifest));
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId)
    ).rejects.toThrow(/signature does not verify against the release key of dev/);
    expect((await refusal(a.manifest.releaseId))?.reason).toMatch(/does not verify/);
  });

  it('refuses a release without a signature', async () => {
    place(a);
    await stage(a.manifest.releaseId, a.manifest);
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId)
    ).rejects.toThrow(/is not signed/);
  });

  it('refuses an older release signed manifest replayed under a newer id', async () => {
    // The older release a, validly signed, staged and copied under b's id.
    place(a, b.manifest.releaseId);
    await stage(b.manifest.releaseId, a.manifest, key.sign(ENV, a.manifest));
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(b.manifest.releaseId)
    ).rejects.toThrow(/its signed manifest is release r-\w+'s \(a manifest replayed/);
    // Its id changed to the newer one, it no longer matches the signature.
    const renamed = { ...a.manifest, releaseId: b.manifest.releaseId };
    writeFileSync(
      path.join(releasesDir, b.manifest.releaseId, 'manifest.json'),
      JSON.stringify(renamed)
    );
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(b.manifest.releaseId)
    ).rejects.toThrow(/does not verify/);
  });

  it('refuses a release signed for another environment', async () => {
    place(a);
    await stage(a.manifest.releaseId, a.manifest, key.sign('prod', a.manifest));
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId)
    ).rejects.toThrow(/does not verify/);
  });

  it('reports refusals as high findings, and clears one once a host loads the release', async () => {
    place(a);
    await stage(a.manifest.releaseId, a.manifest);
    await expect(
      new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId)
    ).rejects.toThrow(ReleaseRefusedError);
    const found = await refusedReleases.run(governanceContext(records));
    expect(found.observed).toContainEqual({
      job: 'refused-release',
      subject: `boston/${a.manifest.releaseId}`,
      severity: 'high',
      message: expect.stringMatching(
        /^boston refused release r-\w+ \(host host-1, .+\): it is not signed/
      ),
    });
    // Signed by the deploy after all: the next load succeeds and clears the refusal.
    await stage(a.manifest.releaseId, a.manifest, key.sign(ENV, a.manifest));
    await new LocalArtifactSource(releasesDir, verifier()).fetch(a.manifest.releaseId);
    expect(await refusal(a.manifest.releaseId)).toBeUndefined();
    const after = await refusedReleases.run(governanceContext(records));
    expect(after.observed.map((o) => o.subject)).not.toContain(`boston/${a.manifest.releaseId}`);
  });

  describe('from S3', () => {
    const s3 = mockClient(S3Client);
    afterEach(() => s3.reset());
    afterAll(() => s3.restore());

    const zipOf = (code: string): Uint8Array => {
      const dir = mkdtempSync(path.join(tmpdir(), 'orbit-asset-'));
      writeFileSync(path.join(dir, 'index.js'), code);
      execFileSync('zip', ['-q', '-r', 'asset.zip', 'index.js'], { cwd: dir });
      return readFileSync(path.join(dir, 'asset.zip'));
    };
    const stageWithArtifacts = async (release: Release, signature?: string) => {
      const artifacts = Object.fromEntries(
        [
          ...release.manifest.functions.map((f) => [f.name, f] as const),
          ['runtime', release.manifest.runtime] as const,
        ].map(([name, b]) => [
          name,
          { bucket: 'assets', key: `orbit-dev/${b.sha256}.zip`, sha256: b.sha256 },
        ])
      );
      await records.stagedReleases.stage({
        locationId: LOCATION,
        releaseId: release.manifest.releaseId,
        manifest: JSON.stringify(release.manifest),
        artifacts,
        ...(signature ? { signature } : {}),
      });
    };
    const serve = (release: Release, tamper?: string) => {
      for (const b of [...release.manifest.functions, release.manifest.runtime]) {
        const code = readFileSync(path.join(release.dir, b.file), 'utf8');
        s3.on(GetObjectCommand, { Key: `orbit-dev/${b.sha256}.zip` }).resolves({
          Body: {
            transformToByteArray: async () => zipOf(b.file.includes(tamper ?? '-') ? 'evil' : code),
          },
        } as never);
      }
    };
    const source = () =>
      new S3ArtifactSource({
        records,
        locationId: LOCATION,
        s3: new S3Client({ region: 'us-east-1' }),
        cacheDir: mkdtempSync(path.join(tmpdir(), 'orbit-cache-')),
        retryBaseDelayMs: 1,
        downloadAttempts: 1,
        verifier: verifier(),
      });

    it('downloads nothing of an unsigned release', async () => {
      await stageWithArtifacts(a);
      serve(a);
      await expect(source().fetch(a.manifest.releaseId)).rejects.toThrow(/is not signed/);
      expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 0);
    });

    it('loads a signed release, and refuses one whose S3 bundle was tampered with', async () => {
      await stageWithArtifacts(a, key.sign(ENV, a.manifest));
      serve(a);
      expect((await source().fetch(a.manifest.releaseId)).manifest.releaseId).toBe(
        a.manifest.releaseId
      );
      await stageWithArtifacts(b, key.sign(ENV, b.manifest));
      serve(b, 'functions/health');
      await expect(source().fetch(b.manifest.releaseId)).rejects.toThrow(
        /health does not match its signed sha256/
      );
      expect((await refusal(b.manifest.releaseId))?.reason).toMatch(/health does not match/);
    });
  });
});

/**
 * The public key comes from KMS GetPublicKey: DER-encoded X.509 SubjectPublicKeyInfo, with
 * the key's KeySpec, KeyUsage and SigningAlgorithms (AWS KMS API Reference, GetPublicKey).
 */
describe('the release key from KMS', () => {
  const kms = mockClient(KMSClient);
  afterEach(() => kms.reset());
  afterAll(() => kms.restore());
  const ARN = 'arn:aws:kms:us-east-1:111111111111:alias/orbit-dev-release';
  const local = openLocalReleaseKey();

  it('fetches the public key once, by the alias ARN, and checks its spec', async () => {
    kms.on(GetPublicKeyCommand).resolves({
      PublicKey: Buffer.from(local.publicKey, 'base64'),
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    const key = releaseKeyFrom(ARN, { kms: new KMSClient({ region: 'us-east-1' }) });
    const [first, second] = [await key.publicKey(), await key.publicKey()];
    expect(first.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(second).toBe(first);
    expect(kms).toHaveReceivedCommandTimes(GetPublicKeyCommand, 1);
    expect(kms).toHaveReceivedCommandWith(GetPublicKeyCommand, { KeyId: ARN });
  });

  it('throws for a key that is not an ECC_NIST_P256 signing key, and tries again later', async () => {
    kms.on(GetPublicKeyCommand).resolvesOnce({
      PublicKey: Buffer.from(local.publicKey, 'base64'),
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
    const key = releaseKeyFrom(ARN, { kms: new KMSClient({ region: 'us-east-1' }) });
    await expect(key.publicKey()).rejects.toThrow(/is not an ECC_NIST_P256 SIGN_VERIFY key/);
    kms.on(GetPublicKeyCommand).rejects(new Error('AccessDeniedException'));
    await expect(key.publicKey()).rejects.toThrow(/cannot fetch the release key/);
  });

  it('throws, naming the variable, for a value that is no key', () => {
    expect(() => releaseKeyFrom('not-a-key')).toThrow(/ORBIT_RELEASE_KEY is neither a KMS key ARN/);
  });
});
