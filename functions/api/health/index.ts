import { ORBIT_FUNCTION_ENV } from '../../../core/location-env';
import { DRAINED_HEADER } from '../../shared/metric-contract';
import { orbitHandler } from '../../shared/orbit-handler';
import type { ReleaseRoute } from '../../shared/route-table';
import { declaration } from './function';
import { cachedProbe, checkHealth, probeTable, readFunctionDrains } from './health';

/**
 * `GET /health`: 200 with the report when the location serves (a satellite cut off from its
 * table too: it serves what it holds), 503 with it when the table does not answer or the
 * location is drained (so load balancers and gates take it out). A
 * drained 503 is marked like the kill switch's own, so that it counts as drained, not as an
 * error of the release.
 */
export const handler = orbitHandler(
  declaration,
  {
    'GET /health': {
      handle: async ({ location, drain }) => {
        const report = await checkHealth(
          location,
          probe,
          drain,
          functionDrains,
          process.env[ORBIT_FUNCTION_ENV.linkDownSince]
        );
        if (report.status === 'drained') {
          return { status: 503, headers: { [DRAINED_HEADER]: '1' }, body: report };
        }
        const serving = report.status === 'ok' || report.status === 'disconnected';
        return { status: serving ? 200 : 503, body: report };
      },
    },
  },
  { drainReportOnly: true }
);

/** The functions of the release that serve routes, from the route table the build writes. */
const releaseFunctions = [
  ...new Set(
    // Spelled out, not looked up by name: the release build replaces this very expression.
    (JSON.parse(process.env.ORBIT_ROUTE_TABLE ?? '[]') as ReleaseRoute[]).map((r) => r.functionName)
  ),
];

const probe = cachedProbe(() => probeTable(handler.location, handler.table));
const functionDrains = cachedProbe(() =>
  readFunctionDrains(handler.location, handler.table, releaseFunctions)
);
