import { App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { regionLocations, satelliteLocations } from '../core/environment/fleet';
import { satelliteAssetPrefix } from '../core/names';
import { addOrbitEnvironment } from '../lib/app';
import { ConfigError, loadEnvironment } from '../lib/config/load';
import { sdkCall } from './support/cfn';
import { fakeRelease } from './support/release';

const R1 = fakeRelease('R1');
const R2 = fakeRelease('R2');

function synthEnvironment(envName: string, release = R1) {
  const app = new App();
  const environment = loadEnvironment({ env: envName });
  const stacks = addOrbitEnvironment(app, environment, release);
  return { app, environment, stacks };
}

const synthesized = new Map<string, ReturnType<typeof synthEnvironment>>();

/**
 * One app per environment and release for the whole file, for tests that only read it: a
 * synth of prod is seconds of CPU, so it happens once. A test that adds to an app builds its
 * own with {@link synthEnvironment}.
 */
function sharedEnvironment(envName: string, release = R1) {
  const key = `${envName}/${release.manifest.releaseId}`;
  let shared = synthesized.get(key);
  if (!shared) {
    shared = synthEnvironment(envName, release);
    synthesized.set(key, shared);
  }
  return shared;
}

describe.each(['dev', 'staging', 'prod'])('the %s environment', (envName) => {
  const { app, environment, stacks } = sharedEnvironment(envName);

  it('has the global state and control-plane stacks and one stack per location', () => {
    expect(stacks.globalState.stackName).toBe(`Orbit-${envName}-GlobalState`);
    expect(stacks.controlPlane.stackName).toBe(`Orbit-${envName}-ControlPlane`);
    expect(stacks.regionLocations.map((s) => s.region)).toEqual(
      regionLocations(environment).map((l) => l.region)
    );
    expect(stacks.satelliteLocations.map((s) => s.stackName)).toEqual(
      satelliteLocations(environment).map((l) => `Orbit-${envName}-Location-${l.id}`)
    );
  });

  it('deploys each satellite in its parent region after the global state, tagged with its location', () => {
    const satellites = satelliteLocations(environment);
    expect(satellites.length).toBeGreaterThan(0);
    satellites.forEach((location, i) => {
      const stack = stacks.satelliteLocations[i] as Stack;
      expect(stack.region).toBe(location.parentRegion);
      expect(stack.account).toBe(environment.account);
      expect(stack.dependencies).toContain(stacks.globalState);
      Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
        Tags: Match.arrayWith([
          { Key: 'orbit:environment', Value: envName },
          { Key: 'orbit:location', Value: location.id },
        ]),
      });
    });
  });

  it('passes cdk-nag AwsSolutions checks with no unacknowledged finding, satellites included', () => {
    expect(stacks.satelliteLocations.length).toBeGreaterThan(0);
    // addOrbitEnvironment registers the checks; synth throws on any violation.
    expect(() => app.synth()).not.toThrow();
    for (const stack of [
      stacks.globalState,
      stacks.controlPlane,
      ...stacks.regionLocations,
      ...stacks.satelliteLocations,
    ]) {
      const report = new AwsSolutionsChecks().validateScope(stack);
      expect(report.violations).toEqual([]);
    }
  });

  it('deploys the same bundle (same asset hash) for each function in every location', () => {
    const codeOf = (stack: Stack) =>
      Object.fromEntries(
        Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
          .filter((f) => String(f.Properties.FunctionName ?? '').startsWith('orbit-'))
          .map((f) => [f.Properties.FunctionName, f.Properties.Code.S3Key])
      );
    const [first, ...rest] = stacks.regionLocations.map(codeOf);
    expect(Object.keys(first ?? {})).toEqual([
      `orbit-${envName}-health`,
      `orbit-${envName}-echo`,
      `orbit-${envName}-fallback`,
    ]);
    for (const other of rest) expect(other).toEqual(first);
    // Satellites stage the very same bundles (by content hash) the region locations run on
    // Lambda, under the environment's prefix that their hosts may read.
    for (const satellite of stacks.satelliteLocations) {
      const keys = Object.fromEntries(
        Object.entries(satellite.assets).map(([name, a]) => [
          `orbit-${envName}-${name}`,
          a.s3ObjectKey,
        ])
      );
      expect(keys).toEqual(
        Object.fromEntries(
          Object.entries(first ?? {}).map(([fn, key]) => [
            fn,
            `${satelliteAssetPrefix({ name: envName })}${key}`,
          ])
        )
      );
    }
  });
});

describe('an environment and a release that do not fit', () => {
  it('fails before building any stack, listing every problem by field in one ConfigError', () => {
    const app = new App();
    const dev = loadEnvironment({ env: 'dev' });
    const [first, ...rest] = R1.manifest.functions;
    const release = {
      ...R1,
      manifest: {
        ...R1.manifest,
        functions: [{ ...(first as (typeof rest)[number]), name: 'runtime' }, ...rest],
      },
    };
    const strict = { ...dev, api: { ...dev.api, publicRoutes: [] } };
    let error: unknown;
    try {
      addOrbitEnvironment(app, strict, release);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      [
        `Invalid Orbit environment 'dev' with release ${R1.manifest.releaseId}:`,
        "  - api.publicRoutes: functions/api/runtime declares 'GET /health' public (auth: 'none'), which environment 'dev' does not allow; declare it auth: 'jwt' in functions/api/runtime/function.ts, or add it to api.publicRoutes.",
        "  - functions/api/runtime: a function named 'runtime' would share its staged-release entry with the satellite runtime at 'boston', 'lab'; rename the function (its folder under functions/api).",
      ].join('\n')
    );
    expect(app.node.children).toEqual([]);
  });

  it('fails naming the field for an environment built in code that breaks a rule', () => {
    const dev = loadEnvironment({ env: 'dev' });
    const mixed = {
      ...dev,
      locations: dev.locations.map((l) =>
        l.kind === 'local-zone' ? { ...l, instanceTypes: ['m7g.large', 't3.medium'] } : l
      ),
    };
    expect(() => addOrbitEnvironment(new App(), mixed, R1)).toThrow(
      /^Invalid Orbit environment 'dev' with release r-[0-9a-f]{16}: locations\[2\]\.instanceTypes: 'm7g\.large' is Graviton \(arm64\) but 't3\.medium' is x86_64/
    );
  });
});

describe('cdk-nag guardrail', () => {
  it('fails synth for a resource that breaks an AwsSolutions rule', () => {
    const { app, stacks } = synthEnvironment('dev');
    new s3.Bucket(stacks.globalState, 'Unlogged');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});

describe('deploy is not release', () => {
  const templateOf = (release: typeof R1) =>
    Template.fromStack(
      sharedEnvironment('prod', release).stacks.regionLocations[0] as Stack
    ).toJSON();
  const t1 = templateOf(R1);
  const t2 = templateOf(R2);
  const byType = (t: Record<string, any>, type: string): Record<string, any> =>
    Object.fromEntries(
      Object.entries(t.Resources).filter(([, r]: [string, any]) => r.Type === type)
    );

  it('publishes R2 as new versions and keeps the versions R1 published (retained)', () => {
    const v1 = Object.keys(byType(t1, 'AWS::Lambda::Version'));
    const v2 = Object.keys(byType(t2, 'AWS::Lambda::Version'));
    expect(v2).toHaveLength(v1.length);
    expect(v2.filter((id) => v1.includes(id))).toEqual([]);
    for (const version of Object.values(byType(t1, 'AWS::Lambda::Version'))) {
      expect(version).toMatchObject({ DeletionPolicy: 'Retain' });
    }
  });

  it('keeps the live alias where it was: same custom resource, no update call, never a CloudFormation-owned alias', () => {
    const a1 = byType(t1, 'Custom::OrbitLiveAlias');
    const a2 = byType(t2, 'Custom::OrbitLiveAlias');
    expect(Object.keys(a2)).toEqual(Object.keys(a1));
    for (const [id, alias] of Object.entries(a2) as [string, any][]) {
      // The only change is the version a first-ever deploy would start from; an update runs no call.
      expect(alias.Properties.Update).toBeUndefined();
      expect(sdkCall(alias.Properties.Create)?.physicalResourceId).toEqual(
        sdkCall(a1[id].Properties.Create)?.physicalResourceId
      );
    }
    expect(Object.keys(byType(t2, 'AWS::Lambda::Alias'))).toEqual([]);
  });

  it('routes the API to the same alias ARNs, so the traffic split is untouched', () => {
    const uris = (t: Record<string, any>) =>
      Object.values(byType(t, 'AWS::ApiGatewayV2::Integration')).map(
        (i: any) => i.Properties.IntegrationUri
      );
    expect(uris(t2)).toEqual(uris(t1));
  });

  it('changes nothing that carries traffic: only versions, function code and release records differ', () => {
    const changed = Object.keys(t2.Resources).filter(
      (id) => JSON.stringify(t1.Resources[id]) !== JSON.stringify(t2.Resources[id])
    );
    const types = [...new Set(changed.map((id) => t2.Resources[id].Type))].sort();
    expect(types).toEqual(
      [
        // Gate alarms watch the metrics of the release this deploy stages; they carry no traffic.
        'AWS::CloudWatch::Alarm',
        'AWS::Lambda::Function',
        'AWS::Lambda::Version',
        'Custom::OrbitFirstRelease',
        'Custom::OrbitLiveAlias',
        'Custom::OrbitLocationRegistration',
        'Custom::OrbitStagedRelease',
      ].sort()
    );
    for (const id of changed.filter((i) => t2.Resources[i].Type === 'AWS::CloudWatch::Alarm')) {
      const releaseFree = (v: unknown) =>
        JSON.stringify(v)
          .replaceAll(R1.manifest.releaseId, 'R')
          .replaceAll(R2.manifest.releaseId, 'R')
          .replace(/CurrentVersion[0-9A-Za-z]+/g, 'CurrentVersion');
      expect(releaseFree(t2.Resources[id])).toEqual(releaseFree(t1.Resources[id]));
    }
    // What a first-ever deploy would adopt changes; a later deploy runs no call for it.
    for (const first of Object.values(byType(t2, 'Custom::OrbitFirstRelease'))) {
      expect(first.Properties.Update).toBeUndefined();
      expect(first.Properties.Delete).toBeUndefined();
    }
    // The registration changes only in the newest staged release it names.
    for (const id of changed.filter(
      (i) => t2.Resources[i].Type === 'Custom::OrbitLocationRegistration'
    )) {
      const facts = (t: Record<string, any>) => {
        const call = sdkCall(t.Resources[id].Properties.Update);
        const names = call?.parameters.ExpressionAttributeNames as Record<string, string>;
        const values = call?.parameters.ExpressionAttributeValues as Record<string, unknown>;
        return Object.fromEntries(
          Object.entries(names).map(([alias, name]) => [name, values[alias.replace('#a', ':v')]])
        );
      };
      expect({ ...facts(t2), latestStaged: 'x' }).toEqual({ ...facts(t1), latestStaged: 'x' });
      expect(facts(t2).latestStaged).toEqual({ S: R2.manifest.releaseId });
    }
    for (const id of changed.filter((i) => t2.Resources[i].Type === 'AWS::Lambda::Function')) {
      const {
        Code: _c1,
        Description: _d1,
        Environment: e1,
        ...rest1
      } = t1.Resources[id].Properties;
      const {
        Code: _c2,
        Description: _d2,
        Environment: e2,
        ...rest2
      } = t2.Resources[id].Properties;
      expect(rest2).toEqual(rest1);
      expect({ ...e2.Variables, ORBIT_RELEASE_ID: 'x' }).toEqual({
        ...e1.Variables,
        ORBIT_RELEASE_ID: 'x',
      });
    }
  });

  it('records R2 as a staged release beside R1', () => {
    const staged = (t: Record<string, any>) =>
      sdkCall((Object.values(byType(t, 'Custom::OrbitStagedRelease'))[0] as any).Properties.Update)
        ?.parameters.Key.sk.S;
    expect(staged(t1)).toBe(`RELEASE#${R1.manifest.releaseId}`);
    expect(staged(t2)).toBe(`RELEASE#${R2.manifest.releaseId}`);
  });
});
