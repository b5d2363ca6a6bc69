import { defineFunction } from '../../shared/declaration';

/** `GET /health`: public, read-only, used by load balancers and rollout gates. */
export const declaration = defineFunction({
  routes: [{ method: 'GET', path: '/health', auth: 'none' }],
  table: 'read',
  memoryMb: 128,
  timeoutSeconds: 5,
});
