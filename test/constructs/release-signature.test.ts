import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { signedReleaseDigest } from '../../core/manifest';
import { addOrbitEnvironment } from '../../lib/app';
import { loadEnvironment } from '../../lib/config/load';
import { SIGNER_SOURCE } from '../../lib/constructs/release-signature';
import { openLocalReleaseKey } from '../../lib/local/release-key';
import { releaseKeyFrom } from '../../lib/satellite/release-signature';
import { fakeRelease } from '../support/release';

/**
 * The deploy-time signer, run as Lambda runs its inline code, against a KMS stand-in that
 * signs like KMS does for `ECDSA_SHA_256` with `MessageType: DIGEST` (AWS KMS API Reference,
 * Sign: the message is the 32-byte SHA-256, the signature DER-encoded), answering a local
 * server in place of CloudFormation's pre-signed URL (CloudFormation User Guide, "Custom
 * resource response objects").
 */
describe('the release signer', () => {
  const kms = mockClient(KMSClient);
  afterEach(() => kms.reset());
  afterAll(() => kms.restore());
  const key = openLocalReleaseKey();
  const release = fakeRelease('signer');
  const digest = signedReleaseDigest('dev', release.manifest);

  /** Loads the inline handler as Lambda would (CommonJS, `exports.handler`). */
  const handler = (): ((event: unknown) => Promise<void>) => {
    const module = { exports: {} as { handler?: (event: unknown) => Promise<void> } };
    new Function('exports', 'require', 'module', SIGNER_SOURCE)(module.exports, require, module);
    return module.exports.handler as (event: unknown) => Promise<void>;
  };
  /** Runs one event; returns the body CloudFormation would have received. */
  async function run(requestType: string, properties: Record<string, string>) {
    let received: { body: string; headers: Record<string, unknown> } | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received = { body, headers: req.headers };
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await handler()({
        RequestType: requestType,
        ResponseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`,
        StackId: 'stack',
        RequestId: 'request',
        LogicalResourceId: 'Signature',
        ResourceProperties: properties,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    if (!received) throw new Error('the signer answered nothing');
    return { ...received, json: JSON.parse(received.body) };
  }
  const properties = {
    ReleaseId: release.manifest.releaseId,
    Digest: digest,
    KeyId: 'arn:aws:kms:us-east-1:111111111111:alias/orbit-dev-release',
    KeyRegion: 'us-east-1',
  };

  it('signs the digest with KMS and answers CloudFormation with a signature satellites verify', async () => {
    kms.on(SignCommand).callsFake(async (input: { Message: Uint8Array }) => {
      // What KMS does in DIGEST mode: sign the given SHA-256; here with the local key.
      expect(Buffer.from(input.Message).toString('hex')).toBe(digest);
      return { Signature: Buffer.from(key.sign('dev', release.manifest), 'base64'), KeyId: 'k' };
    });
    const answer = await run('Create', properties);
    expect(kms).toHaveReceivedCommandWith(SignCommand, {
      KeyId: properties.KeyId,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(answer.headers['content-type']).toBe('');
    expect(answer.json).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: `orbit-release-signature:${release.manifest.releaseId}:${digest.slice(0, 16)}`,
      StackId: 'stack',
      RequestId: 'request',
      LogicalResourceId: 'Signature',
      Data: { Signature: expect.any(String), KeyArn: 'k' },
    });
    // The response's Data must stay under CloudFormation's 4096 bytes.
    expect(Buffer.byteLength(JSON.stringify(answer.json.Data))).toBeLessThan(4096);
    const { verify } = await import('node:crypto');
    const publicKey = await releaseKeyFrom(key.publicKey).publicKey();
    const { signedReleasePayload } = await import('../../core/manifest');
    expect(
      verify(
        'sha256',
        signedReleasePayload('dev', release.manifest),
        publicKey,
        Buffer.from(answer.json.Data.Signature, 'base64')
      )
    ).toBe(true);
  });

  it('fails the resource with KMS’s reason when signing is denied', async () => {
    kms.on(SignCommand).rejects(new Error('User is not authorized to perform: kms:Sign'));
    const answer = await run('Update', properties);
    expect(answer.json).toMatchObject({ Status: 'FAILED', Reason: /not authorized/ });
  });

  it('answers a delete without calling KMS', async () => {
    const answer = await run('Delete', properties);
    expect(answer.json.Status).toBe('SUCCESS');
    expect(kms).toHaveReceivedCommandTimes(SignCommand, 0);
  });

  it('fits CloudFormation’s inline code limit (ZipFile, 4096 characters)', () => {
    expect(SIGNER_SOURCE.length).toBeLessThan(4096);
  });
});

describe('signing at deploy, synthesized', () => {
  const env = loadEnvironment({ env: 'dev' });
  const release = fakeRelease('signed-deploy');
  const app = new App();
  const stacks = addOrbitEnvironment(app, env, release, { nag: false, deployability: false });
  const satellite = stacks.satelliteLocations[0];
  if (!satellite) throw new Error('dev has no satellite');
  const template = Template.fromStack(satellite);

  it('signs the release digest for the environment with the release key, in the home region', () => {
    template.hasResourceProperties('Custom::OrbitReleaseSignature', {
      ReleaseId: release.manifest.releaseId,
      Digest: signedReleaseDigest('dev', release.manifest),
      KeyId: `arn:aws:kms:${env.homeRegion}:${env.account}:alias/orbit-dev-release`,
      KeyRegion: env.homeRegion,
    });
  });

  it('writes the signature into the staged-release record, so CloudFormation signs first', () => {
    const [signature] = Object.keys(template.findResources('Custom::OrbitReleaseSignature'));
    const staged = Object.values(template.findResources('Custom::OrbitStagedRelease'))[0];
    expect(JSON.stringify(staged?.Properties)).toContain(
      JSON.stringify({ 'Fn::GetAtt': [signature, 'Signature'] })
    );
  });

  it('runs the signer with the control plane’s signer role, after that stack', () => {
    const signers = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { FunctionName: `orbit-dev-${satellite.node.id.split('-').pop()}-signer` },
      })
    );
    expect(signers).toHaveLength(1);
    expect(JSON.stringify(signers[0]?.Properties.Role)).toContain(':role/orbit-dev-release-signer');
    expect(satellite.dependencies).toContain(stacks.controlPlane);
  });

  it('tells the runtime the release key, by its alias ARN', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', Match.anyValue());
    expect(JSON.stringify(template.toJSON())).toContain('ORBIT_RELEASE_KEY');
  });
});
