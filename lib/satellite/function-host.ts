import * as path from 'node:path';
import { InvokeStore, type InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { ORBIT_ENV, ORBIT_FUNCTION_ENV } from '../../core/location-env';
import type { Release, ReleaseFunction } from '../../core/manifest';
import { fleetFunctionNameOf } from '../../core/names';
import type { OrbitEvent } from '../../functions/shared/http';
import { type ReleaseRoute, RouteTable } from '../../functions/shared/route-table';
import type { CodeCache } from './code-cache';

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
/**
 * Whether any code in this process has looked the store up (Powertools does, through
 * `globalThis.awslambda.InvokeStore`, when a bundle builds its logger or metrics). Until then
 * invocations run outside it: a store scope turns on Node 20's AsyncLocalStorage promise
 * hooks, a cost on every promise of the process that handlers which never read it (no
 * Powertools) need not pay. Code that reads the store at its first request, not at load,
 * finds no scope for that one request and falls back to its shared state, as it does at init.
 */
let invokeStoreRead = false;
/** The store's request-id key: a registered symbol, the same in every copy of the library. */
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');

/**
 * Prepares this process to host concurrent invocations the way Lambda's multi-concurrency
 * runtime does, so that Powertools keeps each request's log keys and metrics apart. Must run
 * before any bundle is loaded.
 */
export async function prepareConcurrentInvocations(maxConcurrency = 256): Promise<void> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= String(maxConcurrency);
  const store = await InvokeStore.getInstanceAsync(true);
  invokeStore = store;
  const lambda = (globalThis as { awslambda?: object }).awslambda;
  // Without the global (AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA) nothing can find the store.
  if (!lambda) return;
  Object.defineProperty(lambda, 'InvokeStore', {
    configurable: true,
    enumerable: true,
    get: () => {
      invokeStoreRead = true;
      return store;
    },
  });
}

/**
 * Loads every function bundle of `release` into this process. Bundles read their
 * configuration from `process.env` once, at load, so each is loaded with the location's
 * variables plus its own name and release id; two releases load side by side, from their
 * own directories, and never share module state. With a `codeCache`, each bundle is compiled
 * from the bytecode kept from its last load on this host (see code-cache.ts).
 */
export function loadRelease(
  release: Release,
  env: Readonly<Record<string, string>>,
  codeCache?: CodeCache
): LoadedRelease {
  const releaseId = release.manifest.releaseId;
  const functions = new Map<string, LoadedFunction>();
  let fallback: LoadedFunction | undefined;
  for (const fn of release.manifest.functions) {
    const loaded = loadFunction(release, fn, env, codeCache);
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
  env: Readonly<Record<string, string>>,
  codeCache: CodeCache | undefined
): LoadedFunction {
  const saved = { ...process.env };
  Object.assign(process.env, env, {
    [ORBIT_ENV.releaseId]: release.manifest.releaseId,
    [ORBIT_FUNCTION_ENV.functionName]: fn.name,
  });
  try {
    const file = path.resolve(release.dir, fn.file);
    const mod = (codeCache ? codeCache.require(file).exports : require(file)) as {
      handler?: LambdaHandler;
    };
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

/** How often hung invocations are looked for: the precision of a function's timeout. */
const DEADLINE_SWEEP_MS = 50;

interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

/**
 * The deadlines of the invocations in flight, all watched by one timer that never stops
 * while the process hosts functions: an invocation that finishes in time costs a set
 * insert and delete, not a timer of its own (a timer armed and cleared per request was 4 %
 * of a request's CPU under load).
 */
const deadlines = new Set<Deadline>();
let sweeping = false;

function watch(deadline: Deadline): void {
  deadlines.add(deadline);
  if (sweeping) return;
  sweeping = true;
  setInterval(() => {
    const now = Date.now();
    for (const d of deadlines) {
      if (d.at > now) continue;
      deadlines.delete(d);
      d.expire();
    }
  }, DEADLINE_SWEEP_MS).unref();
}

const noop = () => undefined;

/** What every invocation's context of one function shares. */
const contextFields = new WeakMap<
  LoadedFunction,
  Pick<Context, 'functionName' | 'invokedFunctionArn' | 'memoryLimitInMB' | 'logGroupName'>
>();

function contextOf(fn: LoadedFunction, requestId: string, deadline: number): Context {
  let fields = contextFields.get(fn);
  if (!fields) {
    fields = {
      functionName: fn.qualifiedName,
      invokedFunctionArn: `arn:orbit:satellite:${fn.qualifiedName}`,
      memoryLimitInMB: String(fn.memoryMb),
      logGroupName: `/orbit/${fn.qualifiedName}`,
    };
    contextFields.set(fn, fields);
  }
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fields.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: fields.invokedFunctionArn,
    memoryLimitInMB: fields.memoryLimitInMB,
    awsRequestId: requestId,
    logGroupName: fields.logGroupName,
    logStreamName: 'satellite',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: noop,
    fail: noop,
    succeed: noop,
  };
}

/**
 * Invokes a function like Lambda: a context with its remaining time, each invocation in its
 * own invoke-store scope (once anything reads the store), and a hard timeout. Exactly one of
 * `answered` (the handler's result) and `failed` (its error, or an InvocationTimeoutError
 * once its timeout passed) is called, once: a handler that never settles is abandoned (it
 * cannot be killed inside a shared process) and the request gets its answer anyway; one that
 * settles after its timeout is ignored. Callbacks rather than a promise: a promise around
 * the handler's own was one more promise and one more microtask per request, each seen by
 * the invoke store's promise hooks.
 */
export function invoke(
  fn: LoadedFunction,
  event: OrbitEvent,
  requestId: string,
  answered: (result: unknown) => void,
  failed: (err: unknown) => void
): void {
  const at = Date.now() + fn.timeoutMs;
  let result: unknown;
  try {
    const context = contextOf(fn, requestId, at);
    result =
      invokeStore && invokeStoreRead
        ? invokeStore.run({ [REQUEST_ID]: requestId }, () => fn.handler(event, context))
        : fn.handler(event, context);
  } catch (err) {
    failed(err);
    return;
  }
  if (!(result instanceof Promise)) {
    answered(result);
    return;
  }
  const deadline: Deadline = { at, expire: () => failed(new InvocationTimeoutError(fn.timeoutMs)) };
  watch(deadline);
  // The sweep deletes a deadline before it expires it: whoever deletes it first answers.
  result.then(
    (value: unknown) => {
      if (deadlines.delete(deadline)) answered(value);
    },
    (err: unknown) => {
      if (deadlines.delete(deadline)) failed(err);
    }
  );
}
