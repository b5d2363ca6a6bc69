import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import {
  DEPLOYABILITY_RULES,
  deployabilityFindings,
  formatFinding,
} from '../../../lib/governance/deployability/checks';
import type { DeployabilityRule } from '../../../lib/governance/deployability/rule';

export const ACCOUNT = '123456789012';

/** A fresh app writing to its own directory, so that parallel test files never share one. */
export function freshApp(): App {
  return new App({ outdir: mkdtempSync(path.join(tmpdir(), 'orbit-deployability-')) });
}

/** A stack of `app` in `region`, in the test account. */
export function stackIn(app: App, id: string, region = 'us-east-1'): Stack {
  return new Stack(app, id, { env: { account: ACCOUNT, region } });
}

/** Synthesizes `app` and returns each finding of `rules` as one line. */
export function findingsOf(app: App, rules: readonly DeployabilityRule[] = DEPLOYABILITY_RULES) {
  return deployabilityFindings(app, app.synth(), rules).map(formatFinding);
}
