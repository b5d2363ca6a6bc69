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

/**
 * The metric names, one value per request (zeros included, so that rates are defined).
 * An answer refused because the location or the function is drained counts as `Drained`
 * only: it is neither a request of the release nor one of its errors, so a deliberate drain
 * during a rollout neither breaches nor dilutes the candidate's error rate, and its latency
 * is left out of `Latency`.
 */
export const REQUEST_METRICS = {
  /** Answers the release gave (every answer but drained ones). */
  requests: 'Requests',
  clientErrors: 'Errors4xx',
  /** 5xx answers of the release: release errors, which gates judge. */
  serverErrors: 'Errors5xx',
  /** 503 `drained` answers of the kill switch. */
  drained: 'Drained',
  latency: 'Latency',
} as const;

/**
 * The response header the kill switch sets on the answers it refuses (value `1`): how the
 * request metrics and the satellite runtime, which hosts bundles with their own copies of
 * the error classes, tell a drain's 503 from a release's.
 */
export const DRAINED_HEADER = 'x-orbit-drained';

/** Whether a response's headers mark it as a drained answer (names lower-case, as both hosts give them). */
export const isDrainedAnswer = (
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined
): boolean => headers?.[DRAINED_HEADER] === '1';

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
