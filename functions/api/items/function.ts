import { defineFunction } from '../../../core/declaration';
import { ITEMS_PARTITION } from '../../../core/records/keys';

/** The largest item (its JSON value) the items API stores. */
export const MAX_ITEM_BYTES = 64 * 1024;

/**
 * The items API, Orbit's sample application: JSON objects in the global table, readable and
 * writable at every location, with versions and ETags for optimistic concurrency. Every
 * route needs a token from the environment's issuer.
 */
export const declaration = defineFunction({
  routes: [
    { method: 'GET', path: '/items' },
    { method: 'GET', path: '/items/{id}' },
    { method: 'PUT', path: '/items/{id}' },
    { method: 'PATCH', path: '/items/{id}' },
    { method: 'DELETE', path: '/items/{id}' },
  ],
  table: { access: 'read-write', partitions: [ITEMS_PARTITION] },
  maxBodyBytes: MAX_ITEM_BYTES,
});
