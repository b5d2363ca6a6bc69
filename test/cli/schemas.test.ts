import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateSchemas } from '../../lib/cli/schemas';
import { loadEnvironment } from '../../lib/config/load';
import { schemaErrors } from './json-schema';

const dir = path.join(__dirname, '..', '..', 'schemas');

describe('the published JSON Schemas', () => {
  it('are exactly what npm run schemas generates from the zod schemas', () => {
    const generated = generateSchemas();
    const checkedIn = readdirSync(dir).filter((f) => f.endsWith('.schema.json'));
    expect(checkedIn.sort()).toEqual(Object.keys(generated).sort());
    for (const [file, text] of Object.entries(generated)) {
      // A difference means a shape changed without `npm run schemas` (or a file was edited).
      expect({ file, text: readFileSync(path.join(dir, file), 'utf8') }).toEqual({ file, text });
    }
  });

  it.each(['dev', 'staging', 'prod'])(
    'accept the %s environment as a --config file would give it',
    (env) => {
      const environment = loadEnvironment({ env });
      expect(schemaErrors('environment.schema.json', environment)).toEqual([]);
    }
  );

  it('fail an environment file with a misspelled field, naming it', () => {
    const environment = { ...loadEnvironment({ env: 'dev' }), homeRegoin: 'us-east-1' };
    expect(schemaErrors('environment.schema.json', environment)).toEqual([
      '/ must NOT have additional properties',
    ]);
  });
});
