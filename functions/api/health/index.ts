import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { locationContextFromEnv } from '../../shared/env';
import { createTableClient } from '../../shared/table';
import { checkHealth } from './health';

const context = locationContextFromEnv();
const table = createTableClient({ region: context.dataRegion });

/** `GET /health`: 200 with the report when the table answers, 503 with it when not. */
export const handler = async (): Promise<APIGatewayProxyResultV2> => {
  const report = await checkHealth(context, table);
  return {
    statusCode: report.status === 'ok' ? 200 : 503,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-orbit-location': context.locationId,
      'x-orbit-release': context.releaseId,
    },
    body: JSON.stringify(report),
  };
};
