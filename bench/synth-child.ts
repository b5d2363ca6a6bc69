// One synth of an environment of N locations, in its own process: prints its time, split into
// its parts, and peak RSS.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, CloudFormationValidatePlugin } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { NagPack } from 'cdk-nag';
import { loadRelease } from '../core/manifest';
import { addOrbitEnvironment } from '../lib/app';
import { DeployabilityChecks } from '../lib/governance/deployability/checks';
import { benchEnvironment } from './environments';

/** Milliseconds spent in each validation plugin's `validate` (they all run inside synth). */
const plugins = { cfnValidation: 0, cdkNag: 0, deployability: 0 };

function timeValidate(
  proto: { validate: (...args: never[]) => unknown },
  part: keyof typeof plugins
) {
  const original = proto.validate;
  proto.validate = function (this: unknown, ...args: never[]) {
    const started = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      plugins[part] += performance.now() - started;
    }
  };
}
timeValidate(CloudFormationValidatePlugin.prototype, 'cfnValidation');
timeValidate(NagPack.prototype, 'cdkNag');
timeValidate(DeployabilityChecks.prototype, 'deployability');

/**
 * The context `cdk synth` runs the app with: cdk.json's (its feature flags, and errors of the
 * CloudFormation validation failing synth) and what the CLI adds by default (its
 * contextFromSettings: path and asset metadata, the CDKMetadata resource, bundling), so that
 * the synth measured here writes the templates a user's does. `env` is the bench's own.
 */
function cdkSynthContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const { env: _env, ...flags } = cdkJson.context;
  return {
    ...flags,
    [cxapi.PATH_METADATA_ENABLE_CONTEXT]: true,
    [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true,
    [cxapi.ANALYTICS_REPORTING_ENABLED_CONTEXT]: true,
    [cxapi.BUNDLING_STACKS]: ['**'],
    [cxapi.FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
  };
}

const [n, releaseDir, outdir] = process.argv.slice(2);
const started = performance.now();
const app = new App({ outdir, context: cdkSynthContext() });
addOrbitEnvironment(app, benchEnvironment(Number(n)), loadRelease(releaseDir as string));
const constructed = performance.now();
app.synth();
const done = performance.now();
process.stdout.write(
  JSON.stringify({
    ms: done - started,
    // Orbit's stacks and constructs (app construction), then synth: the plugins apart, the
    // rest is aws-cdk-lib preparing, resolving and writing the templates.
    parts: {
      construct: constructed - started,
      ...plugins,
      serialize:
        done - constructed - plugins.cfnValidation - plugins.cdkNag - plugins.deployability,
    },
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  })
);
