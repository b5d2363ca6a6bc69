import { defineFunction } from '../../../core/declaration';

/**
 * The fallback: every request that matches no declared route (API Gateway's `$default`
 * route; the satellite runtime does the same). It answers 404, 405 with `Allow`, and CORS
 * preflights, as problem+json like every other error, so clients meet one error format.
 */
export const declaration = defineFunction({
  routes: [],
  fallback: true,
  memoryMb: 128,
  timeoutSeconds: 3,
});
