import { DescribeCertificateCommand } from '@aws-sdk/client-acm';
import {
  DescribeAvailabilityZonesCommand,
  type DescribeAvailabilityZonesCommandOutput,
  DescribeInstanceTypeOfferingsCommand,
} from '@aws-sdk/client-ec2';
import { GetAccountSettingsCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { regionLocations, regionOf, satelliteLocations } from '../../core/environment/fleet';
import type { Environment, SatelliteLocation } from '../../core/environment/schema';
import { orchestratorNameOf } from '../../core/names';
import type { PreflightClients } from './preflight-clients';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** What a check found. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about it: a command, or the IAM action to grant. */
  readonly fix?: string;
}

/** An AWS call as IAM authorizes it (Service Authorization Reference): action and resource. */
export interface IamCall {
  readonly action: string;
  readonly resource: string;
}

/** One check, ready to run. */
export interface CheckTask {
  /** What is checked: `bootstrap`, `zone-opt-in`, … */
  readonly id: string;
  /** The AWS region it runs in. */
  readonly region?: string;
  /** The Orbit location it is about. */
  readonly location?: string;
  /** The AWS calls it makes; a denial of one becomes a fix naming it. */
  readonly calls: readonly IamCall[];
  run(signal: AbortSignal): Promise<CheckOutcome>;
}

/** What the AWS checks work from. */
export interface AwsCheckContext {
  readonly environment: Environment;
  readonly clients: PreflightClients;
  /** The CDK bootstrap qualifier. */
  readonly qualifier: string;
  /** Reserved concurrency Orbit configures, by region, that is not yet in place. */
  readonly reservedConcurrency: Readonly<Record<string, number>>;
}

/**
 * The bootstrap version Orbit's stacks need: aws-cdk-lib's `DefaultStackSynthesizer` (which
 * every Orbit stack uses, without lookups or session tags) requires 6 to deploy and publish
 * assets, and writes a `CheckBootstrapVersion` rule that rejects 1–5 into each template.
 */
export const MIN_BOOTSTRAP_VERSION = 6;

/** The qualifier `cdk bootstrap` uses unless told otherwise. */
export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/**
 * Lambda keeps this much account concurrency unreserved: a reservation that would leave less
 * fails (Lambda developer guide, "Configuring reserved concurrency").
 */
export const UNRESERVED_FLOOR = 100;

/** Below this account concurrency limit, a region throttles early (new accounts start at 10). */
const LOW_CONCURRENCY_LIMIT = 100;

/** Service Quotas code of Lambda's "Concurrent executions". */
const CONCURRENCY_QUOTA = 'L-B99A9384';

/** Errors that mean "these credentials may not make this call". */
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation']);

export function isAccessDenied(err: unknown): boolean {
  return DENIED.has((err as Error | undefined)?.name ?? '');
}

const arns = {
  ssmParameter: (region: string, account: string, name: string) =>
    `arn:aws:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`,
  lambdaFunction: (region: string, account: string, name: string) =>
    `arn:aws:lambda:${region}:${account}:function:${name}`,
};

/** Every region an environment deploys a stack to or keeps data in, home region first. */
export function regionsToBootstrap(env: Environment): string[] {
  return [...new Set([env.homeRegion, ...env.locations.map(regionOf), ...env.data.regions])];
}

type ComputeSatellite = Extract<SatelliteLocation, { kind: 'local-zone' | 'outpost' }>;
type LocalZoneLocation = Extract<SatelliteLocation, { kind: 'local-zone' }>;

const computeSatellites = (env: Environment): ComputeSatellite[] =>
  satelliteLocations(env).filter((l): l is ComputeSatellite => l.kind !== 'on-prem');

/** `/cdk-bootstrap/<qualifier>/version` exists and is recent enough, as `cdk deploy` reads it. */
function bootstrapCheck(ctx: AwsCheckContext, region: string): CheckTask {
  const { account } = ctx.environment;
  const name = `/cdk-bootstrap/${ctx.qualifier}/version`;
  const fix = `npx cdk bootstrap aws://${account}/${region}`;
  return {
    id: 'bootstrap',
    region,
    calls: [{ action: 'ssm:GetParameter', resource: arns.ssmParameter(region, account, name) }],
    async run(abortSignal) {
      try {
        // The CDK CLI reads it with decryption, in case a custom template made it a SecureString.
        const { Parameter } = await ctx.clients
          .ssm(region)
          .send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal });
        const version = Number.parseInt(Parameter?.Value ?? '', 10);
        if (Number.isNaN(version)) {
          return {
            status: 'fail',
            message: `${name} holds '${Parameter?.Value}', not a version`,
            fix,
          };
        }
        return version < MIN_BOOTSTRAP_VERSION
          ? {
              status: 'fail',
              message: `bootstrap version ${version} is too old: Orbit's stacks need ${MIN_BOOTSTRAP_VERSION} or later`,
              fix,
            }
          : { status: 'ok', message: `CDK bootstrap version ${version}` };
      } catch (err) {
        if ((err as Error).name !== 'ParameterNotFound') throw err;
        return { status: 'fail', message: `not bootstrapped: there is no ${name}`, fix };
      }
    },
  };
}

/** The account opted in to the Local Zone's group; until then the zone launches nothing. */
function zoneOptInCheck(ctx: AwsCheckContext, location: LocalZoneLocation): CheckTask {
  const { parentRegion: region, zone } = location;
  return {
    id: 'zone-opt-in',
    region,
    location: location.id,
    calls: [{ action: 'ec2:DescribeAvailabilityZones', resource: '*' }],
    async run(abortSignal) {
      let zones: DescribeAvailabilityZonesCommandOutput['AvailabilityZones'];
      try {
        ({ AvailabilityZones: zones } = await ctx.clients
          .ec2(region)
          .send(
            new DescribeAvailabilityZonesCommand({ AllAvailabilityZones: true, ZoneNames: [zone] }),
            { abortSignal }
          ));
      } catch (err) {
        // EC2's answer for a zone name it does not know.
        if ((err as Error).name !== 'InvalidParameterValue') throw err;
      }
      const found = zones?.find((z) => z.ZoneName === zone);
      if (!found) {
        return {
          status: 'fail',
          message: `${region} has no zone ${zone}`,
          fix: `pick one of: aws ec2 describe-availability-zones --region ${region} --all-availability-zones --filters Name=zone-type,Values=local-zone`,
        };
      }
      const group = found.GroupName ?? zone;
      const status = found.OptInStatus ?? 'unknown';
      return status === 'opted-in' || status === 'opt-in-not-required'
        ? { status: 'ok', message: `zone group ${group} is ${status}` }
        : {
            status: 'fail',
            message: `the account has not opted in to zone group ${group} (${status})`,
            fix: `aws ec2 modify-availability-zone-group --region ${region} --group-name ${group} --opt-in-status opted-in`,
          };
    },
  };
}

/** Every instance type the satellite lists is offered where it runs (its zone, or its Outpost). */
function instanceTypesCheck(ctx: AwsCheckContext, location: ComputeSatellite): CheckTask {
  const region = location.parentRegion;
  const [locationType, where] =
    location.kind === 'local-zone'
      ? (['availability-zone', location.zone] as const)
      : (['outpost', location.outpostArn] as const);
  return {
    id: 'instance-types',
    region,
    location: location.id,
    calls: [{ action: 'ec2:DescribeInstanceTypeOfferings', resource: '*' }],
    async run(abortSignal) {
      const offered = new Set<string>();
      let NextToken: string | undefined;
      do {
        const page = await ctx.clients.ec2(region).send(
          new DescribeInstanceTypeOfferingsCommand({
            LocationType: locationType,
            Filters: [
              { Name: 'location', Values: [where] },
              { Name: 'instance-type', Values: [...location.instanceTypes] },
            ],
            NextToken,
          }),
          { abortSignal }
        );
        for (const o of page.InstanceTypeOfferings ?? [])
          if (o.InstanceType) offered.add(o.InstanceType);
        NextToken = page.NextToken;
      } while (NextToken);
      const missing = location.instanceTypes.filter((t) => !offered.has(t));
      if (missing.length === 0) {
        return { status: 'ok', message: `${location.instanceTypes.join(', ')} offered` };
      }
      // A zone the account has not opted in to offers nothing; say so rather than blame the types.
      const why =
        offered.size === 0 && location.kind === 'local-zone'
          ? ' (is the zone group opted in?)'
          : '';
      return {
        status: 'fail',
        message: `${missing.join(', ')} not offered in ${location.kind === 'local-zone' ? where : 'the Outpost'}${why}`,
        fix: `list in instanceTypes only types from: aws ec2 describe-instance-type-offerings --region ${region} --location-type ${locationType} --filters Name=location,Values=${where}`,
      };
    },
  };
}

/** The load balancer's certificate exists, is issued, and sits in the parent region. */
function certificateCheck(ctx: AwsCheckContext, location: ComputeSatellite): CheckTask {
  const region = location.parentRegion;
  const arn = location.certificateArn;
  const request = `request or import a certificate in ${region} (ACM certificates are regional) and set it as certificateArn of ${location.id}`;
  return {
    id: 'certificate',
    region,
    location: location.id,
    calls: [{ action: 'acm:DescribeCertificate', resource: arn }],
    async run(abortSignal) {
      const [, , , arnRegion, arnAccount] = arn.split(':');
      if (arnRegion !== region || arnAccount !== ctx.environment.account) {
        return {
          status: 'fail',
          message: `the certificate is in ${arnAccount}/${arnRegion}, but the load balancer runs in ${ctx.environment.account}/${region}`,
          fix: request,
        };
      }
      try {
        const { Certificate } = await ctx.clients
          .acm(region)
          .send(new DescribeCertificateCommand({ CertificateArn: arn }), { abortSignal });
        const status = Certificate?.Status ?? 'UNKNOWN';
        if (status === 'ISSUED') return { status: 'ok', message: 'certificate is ISSUED' };
        return {
          status: 'fail',
          message: `certificate is ${status}, not ISSUED`,
          fix:
            status === 'PENDING_VALIDATION'
              ? `complete its validation: aws acm describe-certificate --region ${region} --certificate-arn ${arn} --query Certificate.DomainValidationOptions`
              : request,
        };
      } catch (err) {
        const name = (err as Error).name;
        if (name !== 'ResourceNotFoundException' && name !== 'InvalidArnException') throw err;
        return { status: 'fail', message: `${region} has no certificate ${arn}`, fix: request };
      }
    },
  };
}

/** The region's account concurrency leaves room for what Orbit reserves, and is not a new account's. */
function concurrencyCheck(ctx: AwsCheckContext, region: string): CheckTask {
  const reserved = ctx.reservedConcurrency[region] ?? 0;
  return {
    id: 'concurrency',
    region,
    calls: [{ action: 'lambda:GetAccountSettings', resource: '*' }],
    async run(abortSignal) {
      const { AccountLimit } = await ctx.clients
        .lambda(region)
        .send(new GetAccountSettingsCommand({}), { abortSignal });
      const limit = AccountLimit?.ConcurrentExecutions ?? 0;
      const unreserved = AccountLimit?.UnreservedConcurrentExecutions ?? limit;
      const fix = `request more: aws service-quotas request-service-quota-increase --region ${region} --service-code lambda --quota-code ${CONCURRENCY_QUOTA} --desired-value 1000`;
      const figures = `account concurrency ${limit}, ${unreserved} unreserved, Orbit reserves ${reserved || 'none'}`;
      if (reserved > 0 && unreserved - reserved < UNRESERVED_FLOOR) {
        return {
          status: 'fail',
          message: `${figures}: reserving it would leave ${unreserved - reserved} unreserved, and Lambda keeps at least ${UNRESERVED_FLOOR}`,
          fix,
        };
      }
      return limit < LOW_CONCURRENCY_LIMIT
        ? {
            status: 'warn',
            message: `${figures}: a reduced quota (new accounts start at 10); requests beyond ${limit} at once are throttled`,
            fix,
          }
        : { status: 'ok', message: figures };
    },
  };
}

/** The caller may invoke the orchestrator (what `orbit` commands do to wake it). */
function orchestratorCheck(ctx: AwsCheckContext): CheckTask {
  const env = ctx.environment;
  const name = orchestratorNameOf(env);
  const resource = arns.lambdaFunction(env.homeRegion, env.account, name);
  return {
    id: 'orchestrator-invoke',
    region: env.homeRegion,
    calls: [{ action: 'lambda:InvokeFunction', resource }],
    async run(abortSignal) {
      try {
        // DryRun validates the parameters and the caller's permission; nothing runs.
        await ctx.clients
          .lambda(env.homeRegion)
          .send(new InvokeCommand({ FunctionName: name, InvocationType: 'DryRun' }), {
            abortSignal,
          });
        return { status: 'ok', message: `may invoke ${name}` };
      } catch (err) {
        if (isAccessDenied(err)) {
          return {
            status: 'fail',
            message: `the caller may not invoke ${name}, so orbit commands cannot wake it`,
            fix: `grant lambda:InvokeFunction on ${resource}`,
          };
        }
        if ((err as Error).name !== 'ResourceNotFoundException') throw err;
        return {
          status: 'warn',
          message: `${name} is not deployed yet; run preflight again after the first deploy to check the invoke permission`,
          fix: `npx cdk deploy --all -c env=${env.name}`,
        };
      }
    },
  };
}

/** Every AWS check of an environment, in report order (the account check runs before these). */
export function awsChecks(ctx: AwsCheckContext): CheckTask[] {
  const env = ctx.environment;
  const satellites = computeSatellites(env);
  return [
    ...regionsToBootstrap(env).map((region) => bootstrapCheck(ctx, region)),
    ...satellites
      .filter((l): l is LocalZoneLocation => l.kind === 'local-zone')
      .map((l) => zoneOptInCheck(ctx, l)),
    ...satellites.map((l) => instanceTypesCheck(ctx, l)),
    ...satellites.map((l) => certificateCheck(ctx, l)),
    ...[...new Set(regionLocations(env).map((l) => l.region))].map((region) =>
      concurrencyCheck(ctx, region)
    ),
    orchestratorCheck(ctx),
  ];
}
