import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

// The published files, not the zod schemas they come from: what a script author reads is
// what the output is checked against. (ajv arrives with fastify, a dev dependency.)
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);

/** The JSON Schema `schemas/<file>` as checked in. */
export const publishedSchema = (file: string): object =>
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'schemas', file), 'utf8'));

/** The validation errors of `value` against `schemas/<file>`: `[]` when it is valid. */
export function schemaErrors(file: string, value: unknown): string[] {
  const validate = ajv.compile(publishedSchema(file));
  return validate(value)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
