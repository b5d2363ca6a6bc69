import type { MiddlewareObj, Request } from '@middy/core';
import { type FieldIssue, ValidationError } from '../../../core/errors';
import type { OrbitEvent, OrbitResult, Schema } from '../http';
import { requestState } from '../request-state';

function check(
  part: FieldIssue['in'],
  schema: Schema<unknown> | undefined,
  value: unknown,
  issues: FieldIssue[]
): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    issues.push({ in: part, field: issue.path.map(String).join('.'), message: issue.message });
  }
  return undefined;
}

/**
 * Validates path parameters, query parameters and the JSON body against the route's zod
 * schemas, all three at once, so a 400 lists every failing field rather than the first.
 */
export function validate(): MiddlewareObj<OrbitEvent, OrbitResult> {
  const before = (request: Request<OrbitEvent, OrbitResult>): void => {
    const { event } = request;
    const state = requestState(event);
    const spec = state.spec;
    if (!spec) return;
    const issues: FieldIssue[] = [];
    state.params = check('path', spec.params, state.params ?? {}, issues);
    state.query = check('query', spec.query, event.queryStringParameters ?? {}, issues);
    state.body = check('body', spec.body, state.json, issues);
    if (issues.length > 0) {
      const fields = issues.map((i) => `${i.in}${i.field ? `.${i.field}` : ''}`);
      throw new ValidationError(`invalid request: ${[...new Set(fields)].join(', ')}`, issues);
    }
  };
  return { before };
}
