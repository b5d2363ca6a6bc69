import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateSchemas } from '../lib/cli/schemas';

/**
 * `npm run schemas`: writes the CLI's `--json` shapes and the environment file's as JSON
 * Schemas into schemas/, from the zod schemas they are parsed and built with. A test fails
 * when the checked-in files differ from what this writes.
 */
const dir = path.join(__dirname, '..', 'schemas');
const files = generateSchemas();
mkdirSync(dir, { recursive: true });
for (const stale of readdirSync(dir).filter((f) => f.endsWith('.schema.json') && !(f in files))) {
  rmSync(path.join(dir, stale));
}
for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
console.log(`${Object.keys(files).length} schemas -> ${path.relative(process.cwd(), dir) || dir}`);
