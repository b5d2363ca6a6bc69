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

// On the event object itself, under a symbol JSON and Object.keys skip: middy
// hands the handler only the event, and this keeps the state per request even when one
// process serves requests concurrently (satellites). A WeakMap keyed by events costs every
// young-generation GC its table of short-lived keys: slower scavenges, a longer tail.
const STATE = Symbol('orbit.requestState');

type WithState = OrbitEvent & { [STATE]?: RequestState };

/** The state of the request carrying `event`, created on first use. */
export function requestState(event: OrbitEvent): RequestState {
  const carrier = event as WithState;
  let state = carrier[STATE];
  if (!state) {
    state = { startedAt: performance.now() };
    carrier[STATE] = state;
  }
  return state;
}
