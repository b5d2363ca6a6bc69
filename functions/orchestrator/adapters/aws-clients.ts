import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { Records } from '../../../core/records';

/** Options of the AWS adapters. */
export interface AwsAdapterOptions {
  /** The platform records, in the orchestrator's (home region's) table. */
  readonly records: Records;
  /** The region of a region location. */
  readonly regionOf: (locationId: string) => string;
  /** @default - one client per region, created on first use by {@link createLambdaClient} */
  readonly lambdaFor?: (region: string) => LambdaClient;
  /** @default - one client per region, created on first use */
  readonly cloudWatchFor?: (region: string) => CloudWatchClient;
}

/** Attempts per Lambda API call, the first included. */
export const LAMBDA_MAX_ATTEMPTS = 4;

/**
 * A Lambda client whose retries are the SDK's own (AWS SDKs and Tools reference guide,
 * "Retry behavior"): throttling (`TooManyRequestsException`) is retried with jittered
 * exponential backoff and, in adaptive mode, client-side rate limiting, at most
 * {@link LAMBDA_MAX_ATTEMPTS} attempts in all. Adaptive suits it: one client per region
 * makes only control-plane calls, which Lambda throttles together.
 */
export function createLambdaClient(region: string, config: LambdaClientConfig = {}): LambdaClient {
  return new LambdaClient({
    ...config,
    region,
    maxAttempts: LAMBDA_MAX_ATTEMPTS,
    retryMode: 'adaptive',
  });
}

/** One client per region, made on first use. */
export const perRegion = <T>(make: (region: string) => T) => {
  const clients = new Map<string, T>();
  return (region: string) => {
    let c = clients.get(region);
    if (!c) {
      c = make(region);
      clients.set(region, c);
    }
    return c;
  };
};
