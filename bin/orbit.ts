#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { loadRelease } from '../core/manifest';
import { addOrbitEnvironment } from '../lib/app';
import { ConfigError, loadEnvironment } from '../lib/config/load';
import { buildRelease } from '../lib/release/build';

/**
 * The CDK app. Context:
 * - `env=NAME`: a shipped environment (default `dev`);
 * - `config=PATH`: an environment from a JSON file instead;
 * - `release=DIR`: deploy a release built earlier (`npm run build`) instead of building one.
 */
async function main(): Promise<void> {
  const app = new App();
  const context = (key: string) => app.node.tryGetContext(key) as string | undefined;
  const environment = loadEnvironment({ env: context('env'), configPath: context('config') });
  const releaseDir = context('release');
  const release = releaseDir ? loadRelease(releaseDir) : await buildRelease();
  addOrbitEnvironment(app, environment, release);
  app.synth();
}

main().catch((err: unknown) => {
  // A user error is a message, not a stack trace.
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  console.error(`orbit: ${message}`);
  process.exit(1);
});
