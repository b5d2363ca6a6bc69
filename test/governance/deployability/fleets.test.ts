import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { benchEnvironment } from '../../../bench/environments';
import type { Environment } from '../../../core/environment/schema';
import { addOrbitEnvironment } from '../../../lib/app';
import { loadEnvironment } from '../../../lib/config/load';
import { deployabilityFindings, formatFinding } from '../../../lib/governance/deployability/checks';
import { fakeRelease } from '../../support/release';
import { freshApp } from './support';

const release = fakeRelease('D');

const environments: [string, () => Environment][] = [
  ...['dev', 'staging', 'prod'].map((name): [string, () => Environment] => [
    `the shipped ${name} environment`,
    () => loadEnvironment({ env: name }),
  ]),
  ...[1, 10, 50].map((n): [string, () => Environment] => [
    `a generated fleet of ${n} location${n === 1 ? '' : 's'}`,
    () => benchEnvironment(n),
  ]),
];

describe.each(environments)('%s', (_name, environment) => {
  let findings: string[] = [];
  let stacks = 0;

  // One synth per fleet, shared by the assertions; cdk-nag has its own test (test/app.test.ts).
  beforeAll(() => {
    const app = new App({ outdir: freshApp().outdir });
    const created = addOrbitEnvironment(app, environment(), release, {
      nag: false,
      deployability: false,
    });
    stacks = 2 + created.regionLocations.length + created.satelliteLocations.length;
    findings = deployabilityFindings(app, app.synth()).map(formatFinding);
  }, 120_000);

  it('passes every deployability rule over every stack', () => {
    expect(stacks).toBeGreaterThan(2);
    expect(findings).toEqual([]);
  });
});

describe('cdk synth', () => {
  it('fails with the resource, what is wrong and how to fix it, when a stack breaks a rule', () => {
    const app = freshApp();
    const { controlPlane } = addOrbitEnvironment(app, loadEnvironment({ env: 'dev' }), release, {
      nag: false,
    });
    const role = new iam.Role(controlPlane, 'Operator', {
      assumedBy: new iam.AccountRootPrincipal(),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:UpdateAlias'],
        resources: [`arn:aws:lambda:us-east-1:${controlPlane.account}:function:orbit-dev-*:live`],
      })
    );
    expect(() => app.synth()).toThrow(
      /ERROR \[Orbit-PolicyArns\] Orbit-dev-ControlPlane\/Operator\/DefaultPolicy\/Resource: grants/
    );
    const report = JSON.parse(
      readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8')
    ) as {
      pluginReports: {
        pluginName: string;
        violations: {
          ruleName: string;
          description: string;
          suggestedFix: string;
          violatingConstructs: { constructPath: string }[];
        }[];
      }[];
    };
    const orbit = report.pluginReports.find((r) => r.pluginName === 'Orbit-Deployability');
    expect(orbit?.violations).toEqual([
      expect.objectContaining({
        ruleName: 'Orbit-PolicyArns',
        description: expect.stringContaining(
          'Orbit-dev-ControlPlane/Operator/DefaultPolicy/Resource: grants lambda:UpdateAlias on'
        ),
        suggestedFix: expect.stringContaining('Name the function instead'),
        violatingConstructs: [
          expect.objectContaining({
            constructPath: 'Orbit-dev-ControlPlane/Operator/DefaultPolicy/Resource',
          }),
        ],
      }),
    ]);
  });
});
