import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { AWS_CALLS, LOCAL_ONLY_COMMANDS } from '../../lib/aws-calls';
import {
  commandsWithoutRow,
  recordedCommands,
  recordStub,
  SDK_CALLS_DIR_ENV,
} from '../support/sdk-calls';

const root = path.join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

describe('the AWS call table', () => {
  it('has a row for every SDK command the code sends to AWS', () => {
    const sent = new Map<string, string>();
    for (const dir of ['core', 'functions', 'lib', 'bin']) {
      for (const file of sourceFiles(path.join(root, dir))) {
        const relative = path.relative(root, file);
        // The local fleet talks to its embedded store only.
        if (relative.startsWith(path.join('lib', 'local'))) continue;
        for (const [, name] of readFileSync(file, 'utf8').matchAll(/new (\w+Command)\(/g)) {
          sent.set(name as string, relative);
        }
      }
    }
    expect(sent.size).toBeGreaterThan(10);
    const missing = commandsWithoutRow([...sent.keys()], AWS_CALLS, LOCAL_ONLY_COMMANDS).map(
      (name) => `${name} (${sent.get(name)})`
    );
    expect(missing).toEqual([]);
  });

  it('names, for every row, source files that exist', () => {
    for (const row of AWS_CALLS) {
      for (const source of row.source) {
        const file = source.split(/[ #]/)[0] as string;
        expect({ source, exists: existsSync(path.join(root, file)) }).toEqual({
          source,
          exists: true,
        });
      }
    }
  });

  it('records the commands tests send through client mocks, for the run-wide check', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'orbit-sdk-calls-test-'));
    const previous = process.env[SDK_CALLS_DIR_ENV];
    process.env[SDK_CALLS_DIR_ENV] = dir;
    try {
      const lambda = recordStub(mockClient(LambdaClient));
      lambda.on(GetAliasCommand).resolves({});
      await new LambdaClient({ region: 'us-east-1' }).send(
        new GetAliasCommand({ FunctionName: 'f', Name: 'live' })
      );
      lambda.reset();
      lambda.restore();
      expect(recordedCommands(dir)).toContain('GetAliasCommand');
      expect(commandsWithoutRow(['GetAliasCommand', 'PutRuleCommand'], AWS_CALLS, [])).toEqual([
        'PutRuleCommand',
      ]);
    } finally {
      process.env[SDK_CALLS_DIR_ENV] = previous;
    }
  });
});
