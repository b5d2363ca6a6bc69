import { type Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import type { OrbitEvent, OrbitResult } from '../http';
import { isDrainedAnswer, REQUEST_METRICS } from '../metric-contract';
import { requestState } from '../request-state';

/** Options of {@link requestMetrics}. */
export interface RequestMetricsOptions {
  readonly logger: Logger;
  /** Where the figures go. @default - none: the host counts requests itself (satellites) */
  readonly metrics?: Metrics;
}

const count = (metrics: Metrics, name: string, yes: boolean): void => {
  metrics.addMetric(name, MetricUnit.Count, yes ? 1 : 0);
};

/**
 * Puts the request id and route on every log line of the request, and at its end records
 * the figures rollout gates read — requests, 4xx, 5xx, drained (zeros included, so that
 * rates are defined) and latency — and logs errors in one summary line. A drained answer
 * (marked by the drain middleware) counts as drained only: not a request, not a 5xx, no
 * latency. Register it after Powertools' `injectLambdaContext` and `logMetrics`, so it runs
 * inside them.
 */
export function requestMetrics(
  options: RequestMetricsOptions
): MiddlewareObj<OrbitEvent, OrbitResult> {
  const { logger, metrics } = options;
  const before = (request: Request<OrbitEvent, OrbitResult>): void => {
    const { event } = request;
    requestState(event);
    logger.appendKeys({ requestId: event.requestContext?.requestId, route: event.routeKey });
  };
  const done = (request: Request<OrbitEvent, OrbitResult>): void => {
    const status = request.response?.statusCode ?? 500;
    const latencyMs = performance.now() - requestState(request.event).startedAt;
    if (metrics) {
      const drained = isDrainedAnswer(request.response?.headers);
      count(metrics, REQUEST_METRICS.requests, !drained);
      count(metrics, REQUEST_METRICS.clientErrors, !drained && status >= 400 && status < 500);
      count(metrics, REQUEST_METRICS.serverErrors, !drained && status >= 500);
      count(metrics, REQUEST_METRICS.drained, drained);
      if (!drained) metrics.addMetric(REQUEST_METRICS.latency, MetricUnit.Milliseconds, latencyMs);
    }
    // Successes are already in API Gateway's access log; errors deserve a line of their own.
    // The level is checked first: building a line only to drop it costs every request.
    const failed = status >= 400;
    if (!failed && logger.level > LogLevelThreshold.DEBUG) return;
    logger[failed ? 'info' : 'debug']('request', {
      method: request.event.requestContext?.http?.method,
      path: request.event.rawPath,
      status,
      latencyMs: Math.round(latencyMs * 100) / 100,
    });
  };
  return { before, after: done, onError: done };
}
