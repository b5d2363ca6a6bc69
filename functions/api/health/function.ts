import { defineFunction } from '../../shared/declaration';

/**
 * `GET /health`: public, used by load balancers and rollout gates. It reads only the
 * platform's own records (its location's), which every function may read.
 */
export const declaration = defineFunction({
  routes: [{ method: 'GET', path: '/health', auth: 'none' }],
  memoryMb: 128,
  timeoutSeconds: 5,
});
