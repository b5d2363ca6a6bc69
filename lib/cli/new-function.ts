import * as path from 'node:path';
import type { Output } from './commands';
import { UsageError } from './errors';
import type { NewFunctionOutput } from './schemas';

/**
 * `orbit new function NAME`: scaffolds `functions/api/NAME/` in this checkout (see
 * `scaffoldFunction`) and says what to add to `api.publicRoutes` when the new function
 * declares a public route, since synth refuses public routes an environment does not allow.
 */
export async function newFunction(
  name: string,
  options: { readonly publicRoute?: boolean; readonly root?: string } = {}
): Promise<Output<NewFunctionOutput>> {
  const root = options.root ?? path.join(__dirname, '..', '..');
  const { functionNameProblem, scaffoldFunction } = await import('./scaffold');
  const problem = functionNameProblem(name);
  if (problem) throw new UsageError(problem);
  const out = await scaffoldFunction(name, { root, publicRoute: options.publicRoute });
  const text = [
    `created function ${name}:`,
    ...out.files.map((f) => `  ${f}`),
    '',
    `test it: npx jest test/functions/api/${name}.test.ts; stage it on the local fleet: npx orbit stage`,
    ...(out.publicRoutes.length > 0
      ? [
          `${out.publicRoutes.join(', ')} ${out.publicRoutes.length > 1 ? 'are public routes' : 'is a public route'}: add ${out.publicRoutes.map((r) => `'${r}'`).join(', ')} to api.publicRoutes of every environment that serves it (lib/config/environments/*.ts), or synth fails`,
        ]
      : []),
  ].join('\n');
  return { text, data: { files: [...out.files], publicRoutes: [...out.publicRoutes] } };
}
