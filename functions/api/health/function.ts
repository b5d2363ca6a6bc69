import { defineFunction } from '../../../core/declaration';

/**
 * `GET /health`: public, used by load balancers and rollout gates. It reads the platform's
 * own records (its location's), which every function may read, and the fleet-wide drain
 * flags of every function (`FUNCTION#*`), to report which of the release's are drained.
 */
export const declaration = defineFunction({
  routes: [{ method: 'GET', path: '/health', auth: 'none' }],
  table: { access: 'read', partitions: ['FUNCTION#*'] },
  memoryMb: 128,
  timeoutSeconds: 5,
});
