import type { MiddlewareObj, Request } from '@middy/core';
import {
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../../core/errors';
import { header, type OrbitEvent, type OrbitResult } from '../http';
import { requestState } from '../request-state';

/** Options of {@link jsonBody}. */
export interface JsonBodyOptions {
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number;
}

const DEFAULT_TYPES = ['application/json'];

/**
 * Reads the JSON body of routes that declare one: 413 above the size limit, 415 when the
 * content type is not one the route accepts, 400 when the body is not valid JSON. Routes
 * without a body schema leave the body alone.
 */
export function jsonBody(options: JsonBodyOptions): MiddlewareObj<OrbitEvent, OrbitResult> {
  const before = (request: Request<OrbitEvent, OrbitResult>): void => {
    const { event } = request;
    const state = requestState(event);
    if (!state.spec?.body) return;
    const raw = event.body ?? '';
    const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (bytes.byteLength > options.maxBytes) {
      throw new PayloadTooLargeError(options.maxBytes, bytes.byteLength);
    }
    const accepted = state.spec.bodyTypes ?? DEFAULT_TYPES;
    const contentType = header(event, 'content-type');
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if (!mediaType || !accepted.includes(mediaType)) {
      throw new UnsupportedMediaTypeError(contentType, accepted);
    }
    if (bytes.byteLength === 0) {
      throw new ValidationError('the request needs a JSON body', [
        { in: 'body', field: '', message: 'required' },
      ]);
    }
    try {
      state.json = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new ValidationError(
        `the body is not valid JSON: ${(err as Error).message}`,
        [{ in: 'body', field: '', message: 'malformed JSON' }],
        { cause: err }
      );
    }
  };
  return { before };
}
