import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTION_NAME } from '../../core/declaration';
import { RUNTIME_ARTIFACT } from '../../core/manifest';
import { fleetFunctionNameOf, orchestratorNameOf } from '../../core/names';

/** Where a function is scaffolded, and how. */
export interface ScaffoldOptions {
  /** The project root: the folder holding `functions/api/` and `test/`. */
  readonly root: string;
  /**
   * Declare `GET /<name>/{id}` public (`auth: 'none'`). The environment must then list it in
   * `api.publicRoutes`, or synth fails; the result names the route keys to add.
   * @default false
   */
  readonly publicRoute?: boolean;
}

/** What a scaffold wrote. */
export interface ScaffoldResult {
  /** The files written, relative to the root, with `/` separators. */
  readonly files: string[];
  /** Route keys declared `auth: 'none'`, e.g. `GET /greetings/{id}`: for `api.publicRoutes`. */
  readonly publicRoutes: string[];
}

/**
 * Why `name` cannot name a function, or `undefined` when it can: the release build's rule
 * ({@link FUNCTION_NAME}), and no name the platform gives its own pieces (a function called
 * `runtime` would share the satellite runtime's staged-release entry; one called
 * `orchestrator` would get the control plane's Lambda function name).
 */
export function functionNameProblem(name: string): string | undefined {
  if (!FUNCTION_NAME.test(name)) {
    return `function name '${name}' must be 1-32 lower-case letters, digits or dashes, starting with a letter (it names the folder under functions/api and the Lambda function), e.g. greetings`;
  }
  const env = { name: 'env' };
  const taken =
    name === RUNTIME_ARTIFACT
      ? 'the satellite runtime'
      : fleetFunctionNameOf(env, name) === orchestratorNameOf(env)
        ? 'the orchestrator'
        : undefined;
  return taken && `function name '${name}' is taken by ${taken}; choose another name`;
}

/**
 * Writes a new function that builds, synthesizes and passes its own test as it is:
 * `functions/api/<name>/function.ts` (its declaration), `functions/api/<name>/index.ts` (the
 * handler, validating with `zod/mini`, which keeps the bundle near half the size `zod` would
 * make it) and `test/functions/api/<name>.test.ts` (the handler against the test run's
 * dynalite). `orbit new function NAME` calls it; it never overwrites anything.
 */
export async function scaffoldFunction(
  name: string,
  options: ScaffoldOptions
): Promise<ScaffoldResult> {
  const problem = functionNameProblem(name);
  if (problem) throw new Error(problem);
  const root = path.resolve(options.root);
  const functionsDir = path.join(root, 'functions', 'api');
  if (!existsSync(functionsDir)) {
    throw new Error(
      `${root} has no functions/api folder: run this at the root of an Orbit project (or pass its root)`
    );
  }
  const publicRoute = options.publicRoute ?? false;
  const dir = path.join(functionsDir, name);
  const testFile = path.join(root, 'test', 'functions', 'api', `${name}.test.ts`);
  const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');
  if (existsSync(dir)) {
    throw new Error(
      `${relative(dir)} already exists: function '${name}' is there; choose another name, or remove the folder first`
    );
  }
  if (existsSync(testFile)) {
    throw new Error(
      `${relative(testFile)} already exists: move it away, or choose another name for the function`
    );
  }

  const files: [string, string][] = [
    [path.join(dir, 'function.ts'), declarationSource(name, publicRoute)],
    [path.join(dir, 'index.ts'), handlerSource(name)],
    [testFile, testSource(name, publicRoute)],
  ];
  // Not recursive: should another scaffold of the same name race this one, one of them fails here.
  mkdirSync(dir);
  mkdirSync(path.dirname(testFile), { recursive: true });
  for (const [file, source] of files) writeFileSync(file, source, { flag: 'wx' });
  return {
    files: files.map(([file]) => relative(file)),
    publicRoutes: publicRoute ? [`GET /${name}/{id}`] : [],
  };
}

function declarationSource(name: string, publicRoute: boolean): string {
  const get = publicRoute
    ? `{ method: 'GET', path: '/${name}/{id}', auth: 'none' }, // listed in api.publicRoutes`
    : `{ method: 'GET', path: '/${name}/{id}' },`;
  return `import { defineFunction } from '../../../core/declaration';

/**
 * \`${name}\`: say here what it serves and to whom. Routes need a token from the environment's
 * issuer unless they say \`auth: 'none'\`; see the README's "Add a function" for data access.
 */
export const declaration = defineFunction({
  routes: [
    ${get}
    { method: 'POST', path: '/${name}' }, // auth defaults to 'jwt'
  ],
});
`;
}

function handlerSource(name: string): string {
  return `import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.cjs';
import { route } from '../../shared/http';
import { orbitHandler } from '../../shared/orbit-handler';
import { declaration } from './function';

// zod/mini (a third of zod's size) ships without messages; English ones tell clients what to fix.
z.config(en());

/** The logic of each route that function.ts declares. */
export const handler = orbitHandler(declaration, {
  'GET /${name}/{id}': route({
    params: z.strictObject({ id: z.string().check(z.maxLength(64)) }),
    handle: async ({ params, location }) => ({
      status: 200,
      body: { id: params.id, location: location.locationId },
    }),
  }),
  'POST /${name}': route({
    body: z.strictObject({ text: z.string().check(z.minLength(1), z.maxLength(200)) }),
    handle: async ({ body, claims }) => ({
      status: 201,
      body: { text: body.text, by: claims?.sub },
    }),
  }),
});
`;
}

function testSource(name: string, publicRoute: boolean): string {
  const getClaims = publicRoute ? '' : '\n      claims: ALICE,';
  return `import type { OrbitHandler } from '../../../functions/shared/orbit-handler';
import { httpEvent, type TestRequest } from '../../support/events';
import { invoke } from '../../support/handlers';
import { createTestTable, testEndpoint } from '../../support/table';

const ALICE = { sub: 'alice' };

/**
 * Loads the function as a location would: from its module, configured by the ORBIT_*
 * variables, on a table of the test run's dynalite (where its kill switch reads drains).
 */
function loadHandler(tableName: string): OrbitHandler {
  Object.assign(process.env, {
    ORBIT_ENVIRONMENT: 'test',
    ORBIT_LOCATION_ID: 'us-east-1',
    ORBIT_LOCATION_KIND: 'region',
    ORBIT_REGION: 'us-east-1',
    ORBIT_RELEASE_ID: 'r-0123456789abcdef',
    ORBIT_TABLE_NAME: tableName,
    ORBIT_DATA_REGION: 'us-east-1',
    ORBIT_FUNCTION: '${name}',
    ORBIT_DYNAMODB_ENDPOINT: testEndpoint(),
    ORBIT_DRAIN_CACHE_SECONDS: '0',
  });
  let handler: OrbitHandler | undefined;
  jest.isolateModules(() => {
    handler = require('../../../functions/api/${name}').handler;
  });
  return handler as OrbitHandler;
}

describe('the ${name} function', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let handler: OrbitHandler;
  const request = (req: TestRequest) => invoke(handler, httpEvent(req));

  beforeAll(async () => {
    table = await createTestTable();
    handler = loadHandler(table.tableName);
  });
  afterAll(() => table.drop());

  it('answers GET /${name}/{id} with the id and the location that served it', async () => {
    const res = await request({
      method: 'GET',
      path: '/${name}/42',
      routeKey: 'GET /${name}/{id}',
      pathParameters: { id: '42' },${getClaims}
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: '42', location: 'us-east-1' });
  });

  it('creates with 201, saying who sent it', async () => {
    const res = await request({
      method: 'POST',
      path: '/${name}',
      routeKey: 'POST /${name}',
      body: { text: 'hello' },
      claims: ALICE,
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ text: 'hello', by: 'alice' });
  });

  it('fails with 400 naming the field when the text is empty', async () => {
    const res = await request({
      method: 'POST',
      path: '/${name}',
      routeKey: 'POST /${name}',
      body: { text: '' },
      claims: ALICE,
    });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([expect.objectContaining({ in: 'body', field: 'text' })]);
  });

  it('fails with 401 without a token', async () => {
    const res = await request({
      method: 'POST',
      path: '/${name}',
      routeKey: 'POST /${name}',
      body: { text: 'hello' },
    });
    expect(res.status).toBe(401);
  });
});
`;
}
