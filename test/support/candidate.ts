import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { defineFunction } from '../../core/declaration';
import type { LocationContext } from '../../core/location-env';
import { route } from '../../functions/shared/http';
import { type OrbitHandler, orbitHandler } from '../../functions/shared/orbit-handler';
import { captureEmf, type EmfBlob } from './emf';
import { httpEvent } from './events';
import { invoke } from './handlers';

const declaration = defineFunction({
  routes: [
    { method: 'GET', path: '/ok', auth: 'none' },
    { method: 'GET', path: '/fail', auth: 'none' },
  ],
});

/**
 * A release's function as the platform builds every handler (the shared middleware stack,
 * EMF metrics on): `GET /ok` answers 200, `GET /fail` throws, which the middleware answers
 * with a 500 problem.
 */
export function candidateHandler(
  functionName: string,
  location: LocationContext,
  table: DynamoDBDocumentClient
): OrbitHandler {
  return orbitHandler(
    declaration,
    {
      'GET /ok': route({ handle: async () => ({ status: 200, body: { ok: true } }) }),
      'GET /fail': route({
        handle: async () => {
          throw new Error('the candidate is broken');
        },
      }),
    },
    {
      functionName,
      location,
      table,
      releaseRoutes: declaration.routes.map((r) => ({ ...r, functionName })),
      drainCacheMs: 60_000,
    }
  );
}

/**
 * Serves `ok` and `failed` requests with a candidate handler of `functionName` and returns
 * the EMF blobs it printed, one per request.
 */
export async function serveCandidate(
  functionName: string,
  location: LocationContext,
  table: DynamoDBDocumentClient,
  requests: { readonly ok?: number; readonly failed?: number }
): Promise<{ blobs: EmfBlob[]; statuses: number[] }> {
  const statuses: number[] = [];
  const blobs = await captureEmf(async () => {
    const handler = candidateHandler(functionName, location, table);
    const paths = [
      ...Array.from({ length: requests.ok ?? 0 }, () => '/ok'),
      ...Array.from({ length: requests.failed ?? 0 }, () => '/fail'),
    ];
    for (const path of paths) {
      const res = await invoke(
        handler,
        httpEvent({ method: 'GET', path, routeKey: `GET ${path}` })
      );
      statuses.push(res.status);
    }
  });
  return { blobs, statuses };
}
