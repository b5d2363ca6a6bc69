import { orbitHandler } from '../../shared/orbit-handler';
import { declaration } from './function';
import { cachedProbe, checkHealth, probeTable } from './health';

/**
 * `GET /health`: 200 with the report when the location serves, 503 with it when the table
 * does not answer or the location is drained (so load balancers and gates take it out).
 */
export const handler = orbitHandler(
  declaration,
  {
    'GET /health': {
      handle: async ({ location, drain }) => {
        const report = await checkHealth(location, probe, drain);
        return { status: report.status === 'ok' ? 200 : 503, body: report };
      },
    },
  },
  { drainReportOnly: true }
);

const probe = cachedProbe(() => probeTable(handler.location, handler.table));
