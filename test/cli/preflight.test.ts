import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ACMClient,
  ResourceNotFoundException as AcmNotFound,
  DescribeCertificateCommand,
} from '@aws-sdk/client-acm';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetAccountSettingsCommand,
  InvokeCommand,
  LambdaClient,
  ResourceNotFoundException as LambdaNotFound,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { Environment } from '../../core/environment/schema';
import {
  type PreflightOptions,
  type PreflightReport,
  preflightCalls,
  preflightOutput,
  runPreflight,
} from '../../lib/cli/preflight';
import { regionsToBootstrap } from '../../lib/cli/preflight-checks';
import { createPreflightClients } from '../../lib/cli/preflight-clients';
import { checkIssuer, discoveryUrlOf } from '../../lib/cli/preflight-issuer';
import { parseEnvironment } from '../../lib/config/load';
import { startDevIssuer } from '../../lib/local/dev-issuer';
import { close, listen } from '../../lib/local/listen';

/*
 * What AWS requires, per check (the docs each expectation below is taken from):
 * - STS API Reference, GetCallerIdentity: no permission is needed; it names the account.
 * - AWS CDK v2 Developer Guide, "Bootstrap your environment" and `cdk bootstrap`; aws-cdk-lib's
 *   DefaultStackSynthesizer (MIN_BOOTSTRAP_STACK_VERSION = 6, qualifier hnb659fds); the CDK CLI
 *   reads /cdk-bootstrap/<qualifier>/version with ssm:GetParameter (WithDecryption) and reads
 *   ParameterNotFound as "not bootstrapped". SSM API Reference, GetParameter: ParameterNotFound.
 * - EC2 API Reference, DescribeAvailabilityZones (AllAvailabilityZones, ZoneNames; OptInStatus
 *   opted-in | not-opted-in | opt-in-not-required; GroupName) and ModifyAvailabilityZoneGroup.
 * - EC2 API Reference, DescribeInstanceTypeOfferings (LocationType availability-zone | outpost;
 *   filters location and instance-type; paginated with NextToken).
 * - ACM API Reference, DescribeCertificate (CertificateDetail.Status ISSUED | PENDING_VALIDATION
 *   | …; ResourceNotFoundException); ACM User Guide, "Supported Regions": certificates are regional.
 * - Lambda Developer Guide, "Configuring reserved concurrency": at least 100 stays unreserved;
 *   "Lambda quotas": new accounts have reduced concurrency quotas; API Reference,
 *   GetAccountSettings (AccountLimit.ConcurrentExecutions, UnreservedConcurrentExecutions).
 * - API Gateway Developer Guide, "Quotas for configuring and running an HTTP API": JWKS endpoint
 *   timeout 1500 ms, JWKS response size 150000 bytes, OpenID Connect discovery timeout 1500 ms;
 *   "Control access to HTTP APIs with JWT authorizers": the token's iss must match the issuer.
 * - Lambda API Reference, Invoke: InvocationType DryRun validates parameters and the caller's
 *   permission without running the function (StatusCode 204).
 */

const ACCOUNT = '111111111111';
const ISSUER = 'https://login.example.com/orbit-pf';
const LA_CERT = `arn:aws:acm:us-west-2:${ACCOUNT}:certificate/00000000-0000-0000-0000-00000000000a`;
const OUTPOST = `arn:aws:outposts:us-east-1:${ACCOUNT}:outpost/op-0123456789abcdef0`;

/** A fleet with every kind of location: two regions, a Local Zone, an Outpost, an on-prem site. */
const environment: Environment = parseEnvironment(
  {
    name: 'pf',
    account: ACCOUNT,
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1', 'us-west-2'],
    locations: [
      { id: 'us-east-1', kind: 'region', region: 'us-east-1' },
      { id: 'us-west-2', kind: 'region', region: 'us-west-2' },
      {
        id: 'los-angeles',
        kind: 'local-zone',
        parentRegion: 'us-west-2',
        zone: 'us-west-2-lax-1a',
        instanceTypes: ['c5.large', 't3.medium'],
        certificateArn: LA_CERT,
      },
      {
        id: 'factory',
        kind: 'outpost',
        parentRegion: 'us-east-1',
        outpostArn: OUTPOST,
        availabilityZone: 'us-east-1a',
        instanceTypes: ['m5.large'],
        certificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/00000000-0000-0000-0000-00000000000b`,
      },
      { id: 'lab', kind: 'on-prem', parentRegion: 'us-east-1' },
    ],
    auth: { issuer: ISSUER, audience: ['orbit-pf'] },
    data: { regions: ['us-east-1', 'us-west-2'] },
    rollout: {
      waves: [
        { name: 'all', locations: ['us-east-1', 'us-west-2', 'los-angeles', 'factory', 'lab'] },
      ],
    },
  },
  'preflight test'
);

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** A fetch that answers for `issuer` only, from memory: no network. */
function issuerFetch(
  issuer: string,
  answers: { discovery?: unknown; jwks?: unknown } = {}
): typeof fetch {
  const jwksUri = `${issuer}/keys`;
  const routes = new Map<string, unknown>([
    [discoveryUrlOf(issuer), answers.discovery ?? { issuer, jwks_uri: jwksUri }],
    [jwksUri, answers.jwks ?? { keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] }],
  ]);
  return async (input) => {
    const body = routes.get(String(input));
    return body === undefined ? new Response('not found', { status: 404 }) : Response.json(body);
  };
}

/** The region a recorded call was sent to. */
const regionOfCall = (call: { thisValue: unknown }) =>
  (call.thisValue as { config: { region: () => Promise<string> } }).config.region();

describe('orbit preflight', () => {
  const sts = mockClient(STSClient);
  const ssm = mockClient(SSMClient);
  const ec2 = mockClient(EC2Client);
  const acm = mockClient(ACMClient);
  const lambda = mockClient(LambdaClient);

  const run = (options: PreflightOptions = {}, env: Environment = environment) =>
    runPreflight(env, { fetch: issuerFetch(env.auth.issuer), ...options });
  const find = (report: PreflightReport, id: string, where?: string) => {
    const found = report.checks.find(
      (c) => c.id === id && (where === undefined || c.location === where || c.region === where)
    );
    if (!found) throw new Error(`no ${id} check for ${where}`);
    return found;
  };
  const failed = (report: PreflightReport) =>
    report.checks
      .filter((c) => c.status !== 'ok')
      .map((c) => `${c.id} ${c.location ?? c.region ?? ''}`.trim());

  beforeEach(() => {
    sts.on(GetCallerIdentityCommand).resolves({
      Account: ACCOUNT,
      Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`,
    });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '30' } });
    ec2.on(DescribeAvailabilityZonesCommand).callsFake((input) => ({
      AvailabilityZones: (input.ZoneNames as string[]).map((zone) => ({
        ZoneName: zone,
        GroupName: zone.replace(/[a-z]$/, ''),
        OptInStatus: 'opted-in',
      })),
    }));
    ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake((input) => ({
      InstanceTypeOfferings: input.Filters.find(
        (f: { Name: string }) => f.Name === 'instance-type'
      ).Values.map((t: string) => ({ InstanceType: t })),
    }));
    acm.on(DescribeCertificateCommand).callsFake((input) => ({
      Certificate: { CertificateArn: input.CertificateArn, Status: 'ISSUED' },
    }));
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 },
    });
    lambda.on(InvokeCommand).resolves({ StatusCode: 204 });
  });
  afterEach(() => {
    sts.reset();
    ssm.reset();
    ec2.reset();
    acm.reset();
    lambda.reset();
  });

  it('reports every item ok for a ready account, and checks each where AWS looks for it', async () => {
    const report = await run();
    expect(failed(report)).toEqual([]);
    expect(report.checks.map((c) => `${c.id} ${c.location ?? c.region ?? ''}`.trim())).toEqual([
      'account',
      'bootstrap us-east-1',
      'bootstrap us-west-2',
      'zone-opt-in los-angeles',
      'instance-types los-angeles',
      'instance-types factory',
      'certificate los-angeles',
      'certificate factory',
      'concurrency us-east-1',
      'concurrency us-west-2',
      'orchestrator-invoke us-east-1',
      'issuer',
    ]);
    expect(report).toMatchObject({
      environment: 'pf',
      caller: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`,
    });

    // What the CDK CLI reads, in every region the environment deploys to or keeps data in.
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/cdk-bootstrap/hnb659fds/version',
      WithDecryption: true,
    });
    const bootstrapped = await Promise.all(ssm.commandCalls(GetParameterCommand).map(regionOfCall));
    expect(bootstrapped.sort()).toEqual(regionsToBootstrap(environment).sort());
    expect(ec2).toHaveReceivedCommandWith(DescribeAvailabilityZonesCommand, {
      AllAvailabilityZones: true,
      ZoneNames: ['us-west-2-lax-1a'],
    });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstanceTypeOfferingsCommand, {
      LocationType: 'availability-zone',
      Filters: [
        { Name: 'location', Values: ['us-west-2-lax-1a'] },
        { Name: 'instance-type', Values: ['c5.large', 't3.medium'] },
      ],
    });
    // An Outpost's offerings are its own, not its anchor zone's.
    expect(ec2).toHaveReceivedCommandWith(DescribeInstanceTypeOfferingsCommand, {
      LocationType: 'outpost',
      Filters: [
        { Name: 'location', Values: [OUTPOST] },
        { Name: 'instance-type', Values: ['m5.large'] },
      ],
    });
    const certificateRegions = await Promise.all(
      acm.commandCalls(DescribeCertificateCommand).map(regionOfCall)
    );
    expect(certificateRegions.sort()).toEqual(['us-east-1', 'us-west-2']);
    const settingsRegions = await Promise.all(
      lambda.commandCalls(GetAccountSettingsCommand).map(regionOfCall)
    );
    expect(settingsRegions.sort()).toEqual(['us-east-1', 'us-west-2']);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'orbit-pf-orchestrator',
      InvocationType: 'DryRun',
    });
    expect(find(report, 'concurrency', 'us-east-1').message).toBe(
      'account concurrency 1000, 1000 unreserved, Orbit reserves none'
    );
  });

  it('fails the account check when the credentials belong to another account, and still runs the rest', async () => {
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '999999999999',
      Arn: 'arn:aws:iam::999999999999:user/bob',
    });
    const report = await run();
    expect(find(report, 'account')).toMatchObject({
      status: 'fail',
      fix: `use credentials for account ${ACCOUNT} (e.g. AWS_PROFILE)`,
    });
    expect(failed(report)).toEqual(['account']);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  it('fails at once, in one message, without credentials, and calls nothing else', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(
        awsError('CredentialsProviderError', 'Could not load credentials from any providers')
      );
    await expect(run()).rejects.toThrow(
      /^preflight needs AWS credentials \(the default chain: .*\): Could not load credentials from any providers$/
    );
    expect(ssm).not.toHaveReceivedAnyCommand();
    expect(lambda).not.toHaveReceivedAnyCommand();
  });

  it('fails a region that is not bootstrapped, naming the cdk bootstrap command', async () => {
    ssm.on(GetParameterCommand).callsFake(async (_input, getClient) => {
      if ((await getClient().config.region()) === 'us-west-2') {
        throw new ParameterNotFound({ message: 'not found', $metadata: {} });
      }
      return { Parameter: { Value: '30' } };
    });
    const report = await run();
    expect(find(report, 'bootstrap', 'us-west-2')).toEqual({
      id: 'bootstrap',
      region: 'us-west-2',
      location: undefined,
      status: 'fail',
      message: 'not bootstrapped: there is no /cdk-bootstrap/hnb659fds/version',
      fix: `npx cdk bootstrap aws://${ACCOUNT}/us-west-2`,
    });
    expect(failed(report)).toEqual(['bootstrap us-west-2']);
  });

  it.each([
    ['5', "bootstrap version 5 is too old: Orbit's stacks need 6 or later"],
    ['not-a-number', "/cdk-bootstrap/hnb659fds/version holds 'not-a-number', not a version"],
  ])('fails a bootstrap version of %j', async (value, message) => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: value } });
    const report = await run();
    expect(find(report, 'bootstrap', 'us-east-1')).toMatchObject({
      status: 'fail',
      message,
      fix: `npx cdk bootstrap aws://${ACCOUNT}/us-east-1`,
    });
  });

  it('reads the bootstrap parameter of the qualifier it is given', async () => {
    await run({ qualifier: 'orbit1234' });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/cdk-bootstrap/orbit1234/version',
    });
  });

  it('fails a Local Zone whose group the account has not opted in to', async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({
      AvailabilityZones: [
        { ZoneName: 'us-west-2-lax-1a', GroupName: 'us-west-2-lax-1', OptInStatus: 'not-opted-in' },
      ],
    });
    const report = await run();
    expect(find(report, 'zone-opt-in', 'los-angeles')).toMatchObject({
      status: 'fail',
      message: 'the account has not opted in to zone group us-west-2-lax-1 (not-opted-in)',
      fix: 'aws ec2 modify-availability-zone-group --region us-west-2 --group-name us-west-2-lax-1 --opt-in-status opted-in',
    });
  });

  it('fails a Local Zone that its parent region does not have', async () => {
    ec2
      .on(DescribeAvailabilityZonesCommand)
      .rejects(awsError('InvalidParameterValue', 'Invalid availability zone: [us-west-2-lax-1a]'));
    const report = await run();
    expect(find(report, 'zone-opt-in', 'los-angeles')).toMatchObject({
      status: 'fail',
      message: 'us-west-2 has no zone us-west-2-lax-1a',
    });
  });

  it('fails an instance type the zone does not offer', async () => {
    ec2
      .on(DescribeInstanceTypeOfferingsCommand)
      .resolves({ InstanceTypeOfferings: [{ InstanceType: 'c5.large' }] });
    const report = await run();
    expect(find(report, 'instance-types', 'los-angeles')).toMatchObject({
      status: 'fail',
      message: 't3.medium not offered in us-west-2-lax-1a',
      fix: 'list in instanceTypes only types from: aws ec2 describe-instance-type-offerings --region us-west-2 --location-type availability-zone --filters Name=location,Values=us-west-2-lax-1a',
    });
    expect(find(report, 'instance-types', 'factory')).toMatchObject({
      status: 'fail',
      message: 'm5.large not offered in the Outpost',
    });
  });

  it('reads every page of the offerings', async () => {
    ec2
      .on(DescribeInstanceTypeOfferingsCommand)
      .resolvesOnce({ InstanceTypeOfferings: [{ InstanceType: 'c5.large' }], NextToken: 'page-2' })
      .resolvesOnce({ InstanceTypeOfferings: [{ InstanceType: 't3.medium' }] })
      .resolves({ InstanceTypeOfferings: [{ InstanceType: 'm5.large' }] });
    const report = await run({ concurrency: 1 });
    expect(find(report, 'instance-types', 'los-angeles').status).toBe('ok');
    expect(ec2).toHaveReceivedCommandWith(DescribeInstanceTypeOfferingsCommand, {
      NextToken: 'page-2',
    });
  });

  it.each([
    [
      'missing',
      () =>
        acm
          .on(DescribeCertificateCommand)
          .rejects(new AcmNotFound({ message: 'not found', $metadata: {} })),
      `us-west-2 has no certificate ${LA_CERT}`,
      'request or import a certificate in us-west-2 (ACM certificates are regional) and set it as certificateArn of los-angeles',
    ],
    [
      'pending validation',
      () =>
        acm
          .on(DescribeCertificateCommand)
          .resolves({ Certificate: { Status: 'PENDING_VALIDATION' } }),
      'certificate is PENDING_VALIDATION, not ISSUED',
      `complete its validation: aws acm describe-certificate --region us-west-2 --certificate-arn ${LA_CERT} --query Certificate.DomainValidationOptions`,
    ],
    [
      'expired',
      () => acm.on(DescribeCertificateCommand).resolves({ Certificate: { Status: 'EXPIRED' } }),
      'certificate is EXPIRED, not ISSUED',
      'request or import a certificate in us-west-2 (ACM certificates are regional) and set it as certificateArn of los-angeles',
    ],
  ])('fails a certificate that is %s', async (_, arrange, message, fix) => {
    arrange();
    const report = await run();
    expect(find(report, 'certificate', 'los-angeles')).toMatchObject({
      status: 'fail',
      message,
      fix,
    });
  });

  it('fails a certificate outside the parent region without asking ACM for it', async () => {
    // The config rules refuse this too; preflight holds on its own.
    const elsewhere = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/00000000-0000-0000-0000-00000000000c`;
    const moved: Environment = {
      ...environment,
      locations: environment.locations.map((l) =>
        l.id === 'los-angeles' && l.kind === 'local-zone' ? { ...l, certificateArn: elsewhere } : l
      ),
    };
    const report = await run({}, moved);
    expect(find(report, 'certificate', 'los-angeles')).toMatchObject({
      status: 'fail',
      message: `the certificate is in ${ACCOUNT}/us-east-1, but the load balancer runs in ${ACCOUNT}/us-west-2`,
    });
    expect(acm).not.toHaveReceivedCommandWith(DescribeCertificateCommand, {
      CertificateArn: elsewhere,
    });
  });

  it('fails when what Orbit reserves would leave less than 100 unreserved', async () => {
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 100 },
    });
    const report = await run({ reservedConcurrency: { 'us-east-1': 1 } });
    expect(find(report, 'concurrency', 'us-east-1')).toMatchObject({
      status: 'fail',
      message:
        'account concurrency 1000, 100 unreserved, Orbit reserves 1: reserving it would leave 99 unreserved, and Lambda keeps at least 100',
      fix: 'request more: aws service-quotas request-service-quota-increase --region us-east-1 --service-code lambda --quota-code L-B99A9384 --desired-value 1000',
    });
    // Nothing is reserved in us-west-2, so 100 unreserved is enough there.
    expect(find(report, 'concurrency', 'us-west-2').status).toBe('ok');
  });

  it("warns about a new account's concurrency limit of 10 when Orbit reserves none", async () => {
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });
    const report = await run();
    expect(find(report, 'concurrency', 'us-east-1')).toMatchObject({
      status: 'warn',
      message:
        'account concurrency 10, 10 unreserved, Orbit reserves none: a reduced quota (new accounts start at 10); requests beyond 10 at once are throttled',
    });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('fails when the caller may not invoke the orchestrator, naming the grant', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(
        awsError(
          'AccessDeniedException',
          `User: arn:aws:iam::${ACCOUNT}:user/bob is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:${ACCOUNT}:function:orbit-pf-orchestrator`
        )
      );
    const report = await run();
    expect(find(report, 'orchestrator-invoke')).toMatchObject({
      status: 'fail',
      fix: `grant lambda:InvokeFunction on arn:aws:lambda:us-east-1:${ACCOUNT}:function:orbit-pf-orchestrator`,
    });
  });

  it('warns, not fails, when the orchestrator is not deployed yet', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(new LambdaNotFound({ message: 'Function not found', $metadata: {} }));
    const report = await run();
    expect(find(report, 'orchestrator-invoke')).toMatchObject({
      status: 'warn',
      message:
        'orbit-pf-orchestrator is not deployed yet; run preflight again after the first deploy to check the invoke permission',
      fix: 'npx cdk deploy --all -c env=pf',
    });
  });

  it('fails a check the credentials may not make, naming the action and resource to grant', async () => {
    ssm
      .on(GetParameterCommand)
      .rejects(
        awsError(
          'AccessDeniedException',
          'User: bob is not authorized to perform: ssm:GetParameter on resource: …'
        )
      );
    const report = await run();
    expect(find(report, 'bootstrap', 'us-west-2')).toMatchObject({
      status: 'fail',
      fix: `grant ssm:GetParameter on arn:aws:ssm:us-west-2:${ACCOUNT}:parameter/cdk-bootstrap/hnb659fds/version`,
    });
  });

  it('fails a check that errs or hangs on its own: the others still report', async () => {
    ec2
      .on(DescribeAvailabilityZonesCommand)
      .rejects(awsError('ThrottlingException', 'Rate exceeded'));
    acm.on(DescribeCertificateCommand).callsFake(() => new Promise(() => {}));
    const report = await run({ timeoutMs: 200 });
    expect(find(report, 'zone-opt-in', 'los-angeles')).toMatchObject({
      status: 'fail',
      message: 'could not check: ThrottlingException: Rate exceeded',
    });
    expect(find(report, 'certificate', 'factory')).toMatchObject({
      status: 'fail',
      message: 'no answer within 0.2 s',
    });
    expect(failed(report)).toEqual([
      'zone-opt-in los-angeles',
      'certificate los-angeles',
      'certificate factory',
    ]);
  });

  it('runs checks concurrently, never more than the bound at once', async () => {
    let inFlight = 0;
    let most = 0;
    ssm.on(GetParameterCommand).callsFake(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      return { Parameter: { Value: '30' } };
    });
    lambda.on(GetAccountSettingsCommand).callsFake(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      return { AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } };
    });
    await run({ concurrency: 2 });
    expect(most).toBe(2);
  });

  it('fails the issuer check when its discovery document names another issuer', async () => {
    const report = await run({
      fetch: issuerFetch(ISSUER, {
        discovery: { issuer: `${ISSUER}/`, jwks_uri: `${ISSUER}/keys` },
      }),
    });
    expect(find(report, 'issuer')).toMatchObject({
      status: 'fail',
      message: `the discovery document names issuer "${ISSUER}/", not the configured '${ISSUER}'; tokens would fail the authorizer's iss check`,
      fix: `set auth.issuer to exactly the iss its tokens carry ('${ISSUER}/')`,
    });
  });

  it('prints a table with each fix under its line, and exact JSON with --json', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'x', $metadata: {} }));
    const out = preflightOutput(await run());
    expect(out.failed).toBe(2);
    expect(out.text).toMatch(
      /^preflight of pf \(account 111111111111\) as arn:aws:sts::111111111111:assumed-role\/Deployer\/alice$/m
    );
    expect(out.text).toMatch(/^status\s+check\s+where\s+message$/m);
    expect(out.text).toMatch(
      /^fail\s+bootstrap\s+us-west-2\s+not bootstrapped: .*\n\s+fix: npx cdk bootstrap aws:\/\/111111111111\/us-west-2$/m
    );
    expect(out.text).toMatch(
      /^ok\s+certificate\s+los-angeles \(us-west-2\)\s+certificate is ISSUED$/m
    );
    expect(out.text.trim().split('\n').at(-1)).toBe('2 failed, 0 to look at, 10 ok');

    const json = JSON.parse(JSON.stringify(out.data)) as Record<string, unknown>[];
    expect(json).toHaveLength(12);
    for (const check of json) {
      expect(Object.keys(check)).toEqual(['id', 'region', 'location', 'status', 'message', 'fix']);
      expect(['ok', 'warn', 'fail']).toContain(check.status);
    }
    expect(json[1]).toEqual({
      id: 'bootstrap',
      region: 'us-east-1',
      location: null,
      status: 'fail',
      message: 'not bootstrapped: there is no /cdk-bootstrap/hnb659fds/version',
      fix: `npx cdk bootstrap aws://${ACCOUNT}/us-east-1`,
    });
    expect(json[0]).toMatchObject({ id: 'account', region: null, fix: null });
  });

  it('lists every AWS call it makes with the resource IAM authorizes it on', () => {
    expect(preflightCalls(environment)).toEqual([
      { action: 'sts:GetCallerIdentity', resource: '*' },
      {
        action: 'ssm:GetParameter',
        resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/cdk-bootstrap/hnb659fds/version`,
      },
      {
        action: 'ssm:GetParameter',
        resource: `arn:aws:ssm:us-west-2:${ACCOUNT}:parameter/cdk-bootstrap/hnb659fds/version`,
      },
      { action: 'ec2:DescribeAvailabilityZones', resource: '*' },
      { action: 'ec2:DescribeInstanceTypeOfferings', resource: '*' },
      { action: 'acm:DescribeCertificate', resource: LA_CERT },
      {
        action: 'acm:DescribeCertificate',
        resource: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/00000000-0000-0000-0000-00000000000b`,
      },
      { action: 'lambda:GetAccountSettings', resource: '*' },
      {
        action: 'lambda:InvokeFunction',
        resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orbit-pf-orchestrator`,
      },
    ]);
  });

  it('bounds every client: few attempts, short timeouts', async () => {
    const clients = createPreflightClients();
    const client = clients.ssm('eu-west-1');
    expect(clients.ssm('eu-west-1')).toBe(client);
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await client.config.maxAttempts()).toBe(2);
    clients.destroy();
  });
});

describe('the issuer check', () => {
  const servers: Server[] = [];
  const serve = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    return `http://127.0.0.1:${await listen(server, 0, 'a test issuer')}`;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });

  it("passes an issuer that answers like Orbit's own development issuer", async () => {
    const dev = await startDevIssuer(0, 'orbit-test');
    try {
      const outcome = await checkIssuer(dev.issuer);
      expect(outcome.status).toBe('ok');
      expect(outcome.message).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+: discovery \d+ ms, JWKS \d+ ms and [\d,]+ bytes \(limits 1,500 ms, 150,000 bytes\)$/
      );
    } finally {
      await dev.stop();
    }
  });

  it('fails a discovery document slower than 1,500 ms', async () => {
    const issuer = await serve((_req, res) => {
      setTimeout(() => res.end('{}'), 1_700).unref();
    });
    const started = Date.now();
    const outcome = await checkIssuer(issuer);
    expect(Date.now() - started).toBeLessThan(1_650);
    expect(outcome).toMatchObject({
      status: 'fail',
      message: `the discovery document (${issuer}/.well-known/openid-configuration) did not answer within 1,500 ms, API Gateway's limit`,
    });
  });

  it('fails a JWKS larger than 150,000 bytes', async () => {
    const outcome = await checkIssuer(ISSUER, {
      fetch: issuerFetch(ISSUER, { jwks: { keys: [{ kty: 'oct', k: 'x'.repeat(150_000) }] } }),
    });
    expect(outcome).toMatchObject({
      status: 'fail',
      message: `the JWKS (${ISSUER}/keys) is larger than 150,000 bytes, API Gateway's limit`,
    });
  });

  it('fails an issuer nobody answers for', async () => {
    const issuer = await serve(() => {});
    await Promise.all(servers.splice(0).map(close));
    const outcome = await checkIssuer(issuer);
    expect(outcome).toMatchObject({
      status: 'fail',
      message: `the discovery document (${issuer}/.well-known/openid-configuration) is unreachable (ECONNREFUSED)`,
    });
  });

  it.each([
    [{ status: 404 }, 'answered HTTP 404'],
    [{ discovery: { issuer: ISSUER } }, 'the discovery document has no jwks_uri'],
    [{ jwks: { keys: [] } }, 'the JWKS holds no keys'],
    [
      { jwks: { keys: [{ kty: 'EC', kid: 'k1', crv: 'P-256', x: 'x', y: 'y' }] } },
      'the JWKS holds no RSA signing key with a kid',
    ],
  ])('fails an issuer whose answer is unusable: %j', async (answer, message) => {
    const fetcher =
      'status' in answer
        ? async () => new Response('', { status: answer.status })
        : issuerFetch(ISSUER, answer);
    const outcome = await checkIssuer(ISSUER, { fetch: fetcher });
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toContain(message);
  });
});

describe('npx orbit preflight', () => {
  const run = promisify(execFile);
  // No AWS_* variable of this machine, no config files and no instance metadata: no credentials.
  const noCredentials = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
    AWS_CONFIG_FILE: path.join(tmpdir(), 'orbit-preflight-none', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmpdir(), 'orbit-preflight-none', 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const orbit = (...args: string[]) =>
    run(process.execPath, ['bin/orbit-cli.js', ...args], { env: noCredentials }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e
    );

  it('shows its usage line', async () => {
    const out = await orbit('preflight', '--help');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Usage: orbit preflight /m);
    expect(out.stdout).toMatch(/what a deploy needs, checked read-only/);
    expect(out.stdout).toMatch(/\$ orbit preflight --env prod/);
  });

  it.each([
    [['preflight'], /^orbit: preflight checks an AWS environment: name it with --env NAME$/],
    [
      ['preflight', '--env', 'atlantis'],
      /^orbit: Invalid Orbit environment 'atlantis': env: no environment named 'atlantis'/,
    ],
    [
      ['preflight', '--env', 'dev'],
      /^orbit: preflight needs AWS credentials \(the default chain: .*\): .+/,
    ],
  ])('fails with one clear line and exit code 1: %j', async (args, message) => {
    const out = await orbit(...args);
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });
});
