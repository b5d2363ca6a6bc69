import type { Route } from '../../core/declaration';
import type { Drain } from './drain-state';
import type { OrbitEvent, RouteSpec } from './http';

/** What the middlewares learn about one request and hand on to the next, and to the logic. */
export interface RequestState {
  readonly startedAt: number;
  route?: Route;
  spec?: RouteSpec;
  /** Set when the request is a CORS preflight the function answers itself. */
  preflight?: boolean;
  /** Methods the path allows, for a preflight's answer. */
  allow?: readonly string[];
  params?: unknown;
  query?: unknown;
  /** The parsed JSON body, before validation. */
  json?: unknown;
  body?: unknown;
  drain?: Drain;
}

// Keyed by the event object: middy hands the handler only the event, and this keeps the
// state per request even when one process serves requests concurrently (satellites).
const states = new WeakMap<OrbitEvent, RequestState>();
// Every middleware of a request asks in turn, mostly for the event asked for just before:
// one remembered pair answers those without a WeakMap lookup.
let lastEvent: OrbitEvent | undefined;
let lastState: RequestState | undefined;

/** The state of the request carrying `event`, created on first use. */
export function requestState(event: OrbitEvent): RequestState {
  if (event === lastEvent) return lastState as RequestState;
  let state = states.get(event);
  if (!state) {
    state = { startedAt: performance.now() };
    states.set(event, state);
  }
  lastEvent = event;
  lastState = state;
  return state;
}
