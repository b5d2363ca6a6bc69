import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RELEASE_SIGNING } from '../../core/manifest';

/**
 * The signer's handler, inline (CloudFormation `ZipFile`, CommonJS, the AWS SDK for
 * JavaScript v3 of the Lambda Node.js runtime). It asks KMS to sign the release digest
 * (`MessageType: DIGEST`: a SHA-256 is exactly the 32 bytes `ECDSA_SHA_256` signs; a raw
 * message would be capped at 4096 bytes) and answers CloudFormation itself with the DER
 * signature base64-encoded (AWS KMS API Reference, Sign; CloudFormation User Guide, "Custom
 * resource response objects": a PUT of JSON to the pre-signed `ResponseURL`, `Data` at most
 * 4096 bytes). Not an `AwsCustomResource`: its provider decodes binary outputs such as
 * `Signature` as UTF-8 text, which corrupts them (aws/aws-cdk#19065).
 */
export const SIGNER_SOURCE = `
const { KMSClient, SignCommand } = require('@aws-sdk/client-kms');
const https = require('node:https');
const http = require('node:http');
exports.handler = async (event) => {
  const p = event.ResourceProperties || {};
  const res = {
    Status: 'SUCCESS',
    PhysicalResourceId: event.PhysicalResourceId || 'orbit-release-signature:' + p.ReleaseId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: {},
  };
  try {
    if (event.RequestType !== 'Delete') {
      if (!/^[0-9a-f]{64}$/.test(p.Digest || '')) throw new Error('Digest must be a SHA-256 in hex, not ' + p.Digest);
      const kms = new KMSClient({ region: p.KeyRegion });
      const out = await kms.send(new SignCommand({
        KeyId: p.KeyId,
        Message: Buffer.from(p.Digest, 'hex'),
        MessageType: 'DIGEST',
        SigningAlgorithm: '${RELEASE_SIGNING.algorithm}',
      }));
      res.PhysicalResourceId = 'orbit-release-signature:' + p.ReleaseId + ':' + p.Digest.slice(0, 16);
      res.Data = { Signature: Buffer.from(out.Signature).toString('base64'), KeyArn: out.KeyId };
    }
  } catch (err) {
    console.error(err);
    res.Status = 'FAILED';
    res.Reason = String((err && err.message) || err).slice(0, 1000);
  }
  const body = JSON.stringify(res);
  await new Promise((resolve, reject) => {
    const url = new URL(event.ResponseURL);
    const req = (url.protocol === 'http:' ? http : https).request(url, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
    }, (r) => { r.resume(); r.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
};
`;

/** Props of a {@link ReleaseSignature}. */
export interface ReleaseSignatureProps {
  readonly releaseId: string;
  /** The SHA-256 of the release's signed payload, hex (`signedReleaseDigest`). */
  readonly digest: string;
  /** The environment's release key: its alias ARN (KMS accepts it as `KeyId`). */
  readonly keyArn: string;
  /** The key's region: the control plane's home region. */
  readonly keyRegion: string;
  /** The one role the key lets sign (the control plane stack creates it). */
  readonly role: iam.IRole;
  /** The signer function's name, so its role can write its log group. */
  readonly functionName: string;
}

/**
 * The environment's signature over one release, made by KMS at deploy time (synth is offline
 * and holds no key): a custom resource whose function, in this stack's region (a custom
 * resource's service token must be in the stack's region), calls `kms:Sign` on the release
 * key in the home region with the role the key policy names, and returns the signature as
 * {@link signature}. Whatever stores the signature references it, so CloudFormation signs
 * first.
 */
export class ReleaseSignature extends Construct {
  /** The signature, base64 of the DER ECDSA P-256 signature (a token until deploy). */
  readonly signature: string;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ReleaseSignatureProps) {
    super(scope, id);
    if (!/^[0-9a-f]{64}$/.test(props.digest)) {
      throw new Error(`ReleaseSignature: digest '${props.digest}' is not a SHA-256 in hex`);
    }
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const fn = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description: 'Orbit: signs a release with the environment release key at deploy',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(SIGNER_SOURCE),
      timeout: Duration.seconds(30),
      memorySize: 256,
      role: props.role,
      logGroup,
    });
    this.resource = new CustomResource(this, 'Resource', {
      resourceType: 'Custom::OrbitReleaseSignature',
      serviceToken: fn.functionArn,
      properties: {
        ReleaseId: props.releaseId,
        Digest: props.digest,
        KeyId: props.keyArn,
        KeyRegion: props.keyRegion,
      },
    });
    // The function's log group first, so a failure to sign leaves its reason there.
    this.resource.node.addDependency(logGroup);
    this.signature = this.resource.getAttString('Signature');
  }
}
