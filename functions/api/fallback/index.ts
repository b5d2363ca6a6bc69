import { orbitHandler } from '../../shared/orbit-handler';
import { declaration } from './function';

/** Routing (shared middleware) answers every request this function receives. */
export const handler = orbitHandler(declaration, {});
