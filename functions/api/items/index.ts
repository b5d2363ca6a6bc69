import { route } from '../../shared/http';
import { orbitHandler } from '../../shared/orbit-handler';
import { declaration } from './function';
import { idParams, items, itemValue, listQuery, writeCondition } from './items';
import { ItemStore } from './store';

const PATCH_TYPES = ['application/merge-patch+json', 'application/json'];

/** The items API over the global table; see README "The items API". */
export const handler = orbitHandler(declaration, {
  'GET /items': route({
    query: listQuery,
    handle: ({ query }) => items.list(store, query),
  }),
  'GET /items/{id}': route({
    params: idParams,
    handle: ({ params, headers }) => items.get(store, params.id, headers['if-none-match']),
  }),
  'PUT /items/{id}': route({
    params: idParams,
    body: itemValue,
    handle: ({ params, body, headers }) =>
      items.put(store, params.id, body, writeCondition(headers)),
  }),
  'PATCH /items/{id}': route({
    params: idParams,
    body: itemValue,
    bodyTypes: PATCH_TYPES,
    handle: ({ params, body, headers }) =>
      items.patch(store, params.id, body, writeCondition(headers)),
  }),
  'DELETE /items/{id}': route({
    params: idParams,
    handle: ({ params, headers }) => items.delete(store, params.id, writeCondition(headers)),
  }),
});

const store = new ItemStore({
  table: handler.table,
  tableName: handler.location.tableName,
  locationId: handler.location.locationId,
});
