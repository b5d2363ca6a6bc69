import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const relative = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(relative);
    return e.name.endsWith('.ts') ? [relative] : [];
  });
}

/** The folders a file's relative imports reach, as top-level folder names. */
function importedFolders(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import\(|require\()\s*'(\.[^']*)'/g)].map((m) => {
    const target = path.relative(
      root,
      path.resolve(path.dirname(path.join(root, file)), m[1] as string)
    );
    return target.split(path.sep)[0] as string;
  });
}

/** The DynamoDB commands a file constructs. */
const dynamoCommands = (file: string): string[] =>
  [
    ...readFileSync(path.join(root, file), 'utf8').matchAll(
      /new ((?:Get|Put|Update|Delete|Query|Scan|BatchGet|BatchWrite|TransactGet|TransactWrite)(?:Item)?Command)\(/g
    ),
  ].map((m) => m[1] as string);

/**
 * The layering the README's Layout section describes: `core/` is the foundation that both the
 * cloud code (`functions/`) and the platform code (`lib/`) import, so imports run one way.
 */
describe('the layout', () => {
  it.each([
    ['core', ['core']],
    ['functions', ['core', 'functions']],
  ])('%s imports only from %j', (dir, allowed) => {
    const strays = sourceFiles(dir).flatMap((file) =>
      importedFolders(file)
        .filter((folder) => !allowed.includes(folder))
        .map((folder) => `${file} imports ${folder}/`)
    );
    expect(strays).toEqual([]);
  });

  // The records layer is the only code that touches platform records; the sample items API
  // keeps its own data (the ITEMS partition) through its store.
  it('builds DynamoDB requests only in the records layer and the items store', () => {
    const allowed = (file: string) =>
      file.startsWith(path.join('core', 'records') + path.sep) ||
      file === path.join('functions', 'api', 'items', 'store.ts');
    const strays = ['core', 'functions', 'lib', 'bin', 'bench'].flatMap((dir) =>
      sourceFiles(dir)
        .filter((file) => !allowed(file))
        .flatMap((file) => dynamoCommands(file).map((command) => `${file}: ${command}`))
    );
    expect(strays).toEqual([]);
  });

  it('keeps the orchestrator ports free of implementations', () => {
    const ports = readFileSync(path.join(root, 'functions', 'orchestrator', 'ports.ts'), 'utf8')
      // Comments may say anything.
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(ports).not.toMatch(/\bclass\b|\bfunction\b|\bexport (const|let|default)\b|\bnew\b/);
  });
});
