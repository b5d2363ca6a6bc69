import * as path from 'node:path';
import { InvokeStore, type InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { ORBIT_ENV, ORBIT_FUNCTION_ENV } from '../../core/location-env';
import type { Release, ReleaseFunction } from '../../core/manifest';
import { fleetFunctionNameOf } from '../../core/names';
import type { OrbitEvent } from '../../functions/shared/http';
import { type ReleaseRoute, RouteTable } from '../../functions/shared/route-table';

/** A handler as Lambda calls it. */
export type LambdaHandler = (event: OrbitEvent, context: Context) => Promise<unknown>;

/** One function of a loaded release, ready to invoke. */
export interface LoadedFunction {
  readonly name: string;
  readonly qualifiedName: string;
  readonly handler: LambdaHandler;
  readonly timeoutMs: number;
  readonly memoryMb: number;
}

/** A release whose bundles are loaded into this process. */
export interface LoadedRelease {
  readonly releaseId: string;
  /** Where its bundles are. */
  readonly dir: string;
  readonly routes: RouteTable;
  readonly functions: ReadonlyMap<string, LoadedFunction>;
  /** The function serving unmatched requests, if the release has one. */
  readonly fallback?: LoadedFunction;
}

/** Raised when a function does not answer within its timeout. */
export class InvocationTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the function did not finish within ${timeoutMs} ms`);
    this.name = 'InvocationTimeoutError';
  }
}

let invokeStore: InvokeStoreBase | undefined;
/** The store's request-id key: a registered symbol, the same in every copy of the library. */
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');

/**
 * Prepares this process to host concurrent invocations the way Lambda's multi-concurrency
 * runtime does, so that Powertools keeps each request's log keys and metrics apart. Must run
 * before any bundle is loaded.
 */
export async function prepareConcurrentInvocations(maxConcurrency = 256): Promise<void> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= String(maxConcurrency);
  invokeStore = await InvokeStore.getInstanceAsync(true);
}

/**
 * Loads every function bundle of `release` into this process. Bundles read their
 * configuration from `process.env` once, at load, so each is loaded with the location's
 * variables plus its own name and release id; two releases load side by side, from their
 * own directories, and never share module state.
 */
export function loadRelease(
  release: Release,
  env: Readonly<Record<string, string>>
): LoadedRelease {
  const releaseId = release.manifest.releaseId;
  const functions = new Map<string, LoadedFunction>();
  let fallback: LoadedFunction | undefined;
  for (const fn of release.manifest.functions) {
    const loaded = loadFunction(release, fn, env);
    functions.set(fn.name, loaded);
    if (fn.fallback) fallback = loaded;
  }
  const routes: ReleaseRoute[] = release.manifest.functions.flatMap((fn) =>
    fn.routes.map((r) => ({ ...r, functionName: fn.name }))
  );
  return { releaseId, dir: release.dir, routes: new RouteTable(routes), functions, fallback };
}

/**
 * Forgets a release's modules, so that they are garbage once the requests holding them
 * finish; without it Node's module cache would keep every release ever loaded.
 */
export function unloadRelease(release: LoadedRelease): void {
  const prefix = `${path.resolve(release.dir)}${path.sep}`;
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(prefix)) delete require.cache[file];
  }
}

function loadFunction(
  release: Release,
  fn: ReleaseFunction,
  env: Readonly<Record<string, string>>
): LoadedFunction {
  const saved = { ...process.env };
  Object.assign(process.env, env, {
    [ORBIT_ENV.releaseId]: release.manifest.releaseId,
    [ORBIT_FUNCTION_ENV.functionName]: fn.name,
  });
  try {
    const mod = require(path.join(release.dir, fn.file)) as { handler?: LambdaHandler };
    if (typeof mod.handler !== 'function') {
      throw new Error(`${fn.file} of ${release.manifest.releaseId} exports no handler`);
    }
    return {
      name: fn.name,
      qualifiedName: fleetFunctionNameOf({ name: env[ORBIT_ENV.environment] ?? 'local' }, fn.name),
      handler: mod.handler,
      timeoutMs: fn.timeoutSeconds * 1000,
      memoryMb: fn.memoryMb,
    };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/**
 * Invokes a function like Lambda: a context with its remaining time, each invocation in its
 * own invoke-store scope, and a hard timeout. A handler that never settles is abandoned
 * (it cannot be killed inside a shared process) and the request gets its answer anyway.
 */
export async function invoke(
  fn: LoadedFunction,
  event: OrbitEvent,
  requestId: string
): Promise<unknown> {
  const deadline = Date.now() + fn.timeoutMs;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn.qualifiedName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:orbit:satellite:${fn.qualifiedName}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/orbit/${fn.qualifiedName}`,
    logStreamName: 'satellite',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(fn.timeoutMs)), fn.timeoutMs);
  });
  const run = () => Promise.resolve().then(() => fn.handler(event, context));
  const invocation = invokeStore ? invokeStore.run({ [REQUEST_ID]: requestId }, run) : run();
  try {
    return await Promise.race([invocation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
