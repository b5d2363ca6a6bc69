/**
 * The request metrics rollout gates read: what every Orbit handler publishes (EMF, through
 * Powertools Metrics) and what the region health source and the gate alarms query. Both
 * sides take the names from here; the metric contract tests check them against the EMF a
 * real handler prints, so neither can drift from what CloudWatch actually receives.
 */

/** The CloudWatch namespace of the request metrics. */
export const REQUEST_METRICS_NAMESPACE = 'Orbit';

/** Powertools' service name: it becomes the `service` dimension of every metric. */
export const REQUEST_METRICS_SERVICE = 'orbit';

/** The metric names, one value per request (zeros included, so that rates are defined). */
export const REQUEST_METRICS = {
  requests: 'Requests',
  clientErrors: 'Errors4xx',
  serverErrors: 'Errors5xx',
  latency: 'Latency',
} as const;

/** Whose requests a metric counts. */
export interface RequestMetricIds {
  /** The function's folder under `functions/api/`. */
  readonly function: string;
  /** The location id. */
  readonly location: string;
  /** The release id. */
  readonly release: string;
}

/**
 * The dimension set of every request metric. CloudWatch tells metrics apart by their full
 * dimension set, so a query must name all of these, and no other.
 */
export function requestMetricDimensions(ids: RequestMetricIds): Record<string, string> {
  return {
    service: REQUEST_METRICS_SERVICE,
    function: ids.function,
    location: ids.location,
    release: ids.release,
  };
}
