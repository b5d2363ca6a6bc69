import * as path from 'node:path';
import type { Output } from './commands';
import type { NewFunctionOutput } from './schemas';

/** What `lib/cli/scaffold.ts` exports (written beside this CLI). */
interface Scaffold {
  scaffoldFunction(name: string, options: { root: string }): Promise<NewFunctionOutput>;
}

/**
 * `orbit new function NAME`: scaffolds `functions/api/NAME/` in this checkout and says what
 * to add to `api.publicRoutes` when the new function declares a public route (synth refuses
 * public routes the environment does not allow).
 */
export async function newFunction(
  name: string,
  root = path.join(__dirname, '..', '..')
): Promise<Output<NewFunctionOutput>> {
  // Loaded when run (the scaffolder may be written after this CLI): the rest never needs it.
  const specifier = './scaffold';
  const { scaffoldFunction } = (await import(specifier)) as Scaffold;
  const out = await scaffoldFunction(name, { root });
  const files = out.files.map((f) => (path.isAbsolute(f) ? path.relative(root, f) : f));
  const text = [
    `created ${name}:`,
    ...files.map((f) => `  ${f}`),
    ...(out.publicRoutes.length > 0
      ? [
          '',
          `${out.publicRoutes.join(', ')} ${out.publicRoutes.length > 1 ? 'are public routes' : 'is a public route'}: add ${out.publicRoutes.map((r) => `'${r}'`).join(', ')} to api.publicRoutes of each environment that serves it (lib/config/environments/*.ts), or synth fails`,
        ]
      : []),
  ].join('\n');
  return { text, data: { files, publicRoutes: [...out.publicRoutes] } };
}
