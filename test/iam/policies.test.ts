import { App, type Stack } from 'aws-cdk-lib';
import { regionLocations, satelliteLocations } from '../../core/environment/fleet';
import type { Environment } from '../../core/environment/schema';
import { orchestratorNameOf, releaseSignerRoleNameOf, satelliteRoleNameOf } from '../../core/names';
import { addOrbitEnvironment } from '../../lib/app';
import {
  type AuthorizedRequest,
  AWS_CALLS,
  type CallSubject,
  type Component,
} from '../../lib/aws-calls';
import { onPremHostPolicy, operatorPolicy } from '../../lib/cli/operator-policy';
import { prod } from '../../lib/config/environments/prod';
import { loadEnvironment, parseEnvironment } from '../../lib/config/load';
import type { SatelliteLocationStack } from '../../lib/stacks/satellite-location-stack';
import {
  type DeployedTemplate,
  decide,
  logicalIds,
  type PolicyDocument,
  resolve,
  roleOfFunction,
  rolePolicies,
  trustPolicy,
} from '../support/iam';
import { fakeRelease } from '../support/release';

/**
 * Every AWS call in the table of lib/aws-calls.ts, simulated against the policies of the
 * synthesized templates (intrinsics resolved) with the IAM policy evaluation logic, with the
 * action and resource as the Service Authorization Reference says AWS authorizes them:
 * each call is allowed, each neighbour just outside the scope is denied.
 */

const release = fakeRelease('IAM');

/** One principal of a deployed environment and what it is for. */
interface Principal {
  readonly name: string;
  readonly component: Component;
  readonly subject: CallSubject;
  readonly policies: readonly PolicyDocument[];
  readonly account: string;
  readonly principal?: string;
  readonly resourcePolicy?: PolicyDocument;
  /**
   * The release key's policy: KMS authorizes a call on a key only if its key policy allows
   * it (itself, or by delegating to IAM), so KMS requests are simulated against it.
   */
  readonly keyPolicy?: PolicyDocument;
}

function deployed(stack: Stack, app: App): DeployedTemplate {
  return {
    stackName: stack.stackName,
    account: stack.account,
    region: stack.region,
    template: app.synth().getStackByName(stack.stackName).template,
  };
}

const dataPartitions = (functions: typeof release.manifest.functions) => ({
  read: functions.flatMap((f) => (f.table?.access === 'read' ? f.table.partitions : [])),
  write: functions.flatMap((f) => (f.table?.access === 'read-write' ? f.table.partitions : [])),
});

/** The custom-resource provider's role (one per stack, shared by its AwsCustomResources). */
const providerRole = (t: DeployedTemplate) => {
  const [id] = logicalIds(t, 'AWS::IAM::Role', (_, logicalId) =>
    logicalId.startsWith('AWS679f53fac002430cb0da5b7982bd2287ServiceRole')
  );
  if (!id) throw new Error(`${t.stackName}: no custom resource provider role`);
  return id;
};

/**
 * The environments simulated: the configured ones, and prod with notifications (an alert
 * topic and a signed webhook), which no configured environment has.
 */
const environmentNamed = (envName: string): Environment =>
  envName === 'prod with notifications'
    ? parseEnvironment(
        {
          ...prod,
          rollout: {
            ...prod.rollout,
            notifications: {
              topicArn: `arn:aws:sns:${prod.homeRegion}:${prod.account}:orbit-alerts`,
              webhooks: [
                { url: 'https://hooks.example.com/orbit', secretParameter: '/orbit/prod/webhook' },
                { url: 'https://chat.example.com/hook', events: ['breached', 'rolled-back'] },
              ],
            },
          },
        },
        envName
      )
    : loadEnvironment({ env: envName });

function principalsOf(envName: string): {
  principals: Principal[];
  roles: string[];
  covered: Set<string>;
} {
  const app = new App();
  const environment = environmentNamed(envName);
  const stacks = addOrbitEnvironment(app, environment, release, { nag: false });
  const { account } = environment;
  const functions = release.manifest.functions.map((f) => f.name);
  const principals: Principal[] = [];
  const covered = new Set<string>();
  const roles: string[] = [];
  const policiesOf = (t: DeployedTemplate, roleId: string) => {
    covered.add(`${t.stackName}/${roleId}`);
    return rolePolicies(t, roleId);
  };

  const control = deployed(stacks.controlPlane, app);
  const global = deployed(stacks.globalState, app);
  for (const t of [control, global]) {
    roles.push(...logicalIds(t, 'AWS::IAM::Role').map((id) => `${t.stackName}/${id}`));
  }
  principals.push({
    name: 'orchestrator',
    component: 'orchestrator',
    subject: { environment, functions },
    policies: policiesOf(control, roleOfFunction(control, orchestratorNameOf(environment))),
    account,
  });
  for (const id of logicalIds(control, 'AWS::IAM::Role', (_, l) =>
    l.startsWith('SchedulerRoleForTarget')
  )) {
    const [queue] = logicalIds(control, 'AWS::SQS::Queue');
    principals.push({
      name: 'scheduler',
      component: 'scheduler',
      subject: {
        environment,
        functions,
        queueArn: String(resolve(control, { 'Fn::GetAtt': [queue, 'Arn'] })),
      },
      policies: policiesOf(control, id),
      account,
    });
  }
  const [releaseKey] = logicalIds(control, 'AWS::KMS::Key');
  const releaseKeyArn = String(resolve(control, { 'Fn::GetAtt': [releaseKey, 'Arn'] }));
  const keyPolicy = resolve(
    control,
    (control.template.Resources as Record<string, { Properties: { KeyPolicy: unknown } }>)[
      releaseKey as string
    ]?.Properties.KeyPolicy
  ) as PolicyDocument;
  principals.push({
    name: 'release signer',
    component: 'release-signer',
    subject: { environment, releaseKeyArn },
    principal: `arn:aws:iam::${account}:role/${releaseSignerRoleNameOf(environment)}`,
    keyPolicy,
    policies: policiesOf(
      control,
      stacks.controlPlane.getLogicalId(stacks.controlPlane.releaseSigner.node.defaultChild as never)
    ),
    account,
  });
  principals.push({
    name: 'control-plane custom resources',
    component: 'deploy',
    subject: { environment, functions },
    policies: policiesOf(control, providerRole(control)),
    account,
  });

  regionLocations(environment).forEach((location, i) => {
    const t = deployed(stacks.regionLocations[i] as Stack, app);
    roles.push(...logicalIds(t, 'AWS::IAM::Role').map((id) => `${t.stackName}/${id}`));
    for (const fn of release.manifest.functions) {
      principals.push({
        name: `function ${fn.name} at ${location.id}`,
        component: 'function',
        subject: {
          environment,
          location,
          functions,
          functionName: fn.name,
          dataPartitions: dataPartitions([fn]),
        },
        policies: policiesOf(t, roleOfFunction(t, `orbit-${environment.name}-${fn.name}`)),
        account,
      });
    }
    principals.push({
      name: `custom resources at ${location.id}`,
      component: 'deploy',
      subject: { environment, location, functions },
      policies: policiesOf(t, providerRole(t)),
      account,
    });
  });

  satelliteLocations(environment).forEach((location, i) => {
    const stack = stacks.satelliteLocations[i] as SatelliteLocationStack;
    const t = deployed(stack, app);
    roles.push(...logicalIds(t, 'AWS::IAM::Role').map((id) => `${t.stackName}/${id}`));
    const roleId = stack.getLogicalId(stack.role.node.defaultChild as never);
    const artifacts = [...Object.values(stack.assets), stack.runtimeAsset].map((a) => ({
      bucket: String(resolve(t, stack.resolve(a.s3BucketName))),
      key: String(resolve(t, stack.resolve(a.s3ObjectKey))),
    }));
    const policies = policiesOf(t, roleId);
    principals.push({
      name: `satellite runtime at ${location.id}`,
      component: 'satellite',
      subject: {
        environment,
        location,
        dataPartitions: dataPartitions(release.manifest.functions),
        artifacts,
        releaseKeyArn,
      },
      policies,
      account,
      principal: `arn:aws:iam::${account}:role/${satelliteRoleNameOf(environment, location)}`,
      keyPolicy,
    });
    principals.push({
      name: `custom resources at ${location.id}`,
      component: 'deploy',
      subject: { environment, location, functions },
      policies: policiesOf(t, providerRole(t)),
      account,
    });
    for (const flowRole of logicalIds(t, 'AWS::IAM::Role', (p) =>
      JSON.stringify(p.AssumeRolePolicyDocument).includes('vpc-flow-logs.amazonaws.com')
    )) {
      const [group] = logicalIds(t, 'AWS::Logs::LogGroup', (_, id) => id.includes('FlowLogs'));
      principals.push({
        name: `flow logs of ${location.id}`,
        component: 'flow-logs',
        subject: { environment, location, logGroupName: String(resolve(t, { Ref: group })) },
        policies: policiesOf(t, flowRole),
        account,
      });
    }
    if (location.kind === 'on-prem') {
      const roleArn = String(resolve(t, { 'Fn::GetAtt': [roleId, 'Arn'] }));
      principals.push({
        name: `on-prem host of ${location.id}`,
        component: 'on-prem-host',
        subject: { environment, location, roleArn },
        // The identity policy `orbit host-policy` prints for the host's IAM user or role.
        policies: [onPremHostPolicy(environment, location.id) as unknown as PolicyDocument],
        account,
        principal: `arn:aws:iam::${account}:user/orbit-${location.id}-host`,
        resourcePolicy: trustPolicy(t, roleId),
      });
    }
  });

  principals.push({
    name: 'operator',
    component: 'operator',
    subject: { environment, functions },
    policies: [operatorPolicy(environment) as unknown as PolicyDocument],
    account,
  });
  return { principals, roles, covered };
}

describe.each(['dev', 'staging', 'prod', 'prod with notifications'])(
  'IAM of the %s environment, simulated',
  (envName) => {
    const { principals, roles, covered } = principalsOf(envName);

    it('simulates every IAM role the templates create', () => {
      expect(roles.length).toBeGreaterThan(5);
      expect(roles.filter((r) => !covered.has(r))).toEqual([]);
    });
    const cases = principals.flatMap((p) =>
      AWS_CALLS.filter(
        (row) => row.component === p.component && (row.appliesTo?.(p.subject) ?? true)
      ).map((row) => ({
        p,
        row,
        name: `${p.name}: ${[...new Set(row.requests(p.subject).map((r) => r.action))].join(', ') || row.commands.join(', ')}`,
      }))
    );

    it('has a principal for every component that calls AWS', () => {
      const components = new Set(principals.map((p) => p.component));
      const expected: Component[] = [
        'orchestrator',
        'function',
        'satellite',
        'deploy',
        'release-signer',
        'scheduler',
        'operator',
      ];
      if (satelliteLocations(environmentNamed(envName)).some((l) => l.kind === 'on-prem'))
        expected.push('on-prem-host');
      for (const c of expected) expect(components).toContain(c);
    });

    it.each(cases.map((c) => [c.name, c]))(
      '%s: every call allowed, every neighbour denied',
      async (_name, { p, row }) => {
        const judged = async (request: AuthorizedRequest) => {
          const decision = await decide(
            request,
            p.policies,
            request.action.startsWith('kms:') ? { ...p, resourcePolicy: p.keyPolicy } : p
          );
          return `${request.why} [${request.action} ${request.resource}]: ${decision === 'Allowed' ? 'allowed' : 'denied'}`;
        };
        const requests = row.requests(p.subject);
        const outside = row.outside(p.subject);
        const actual = [
          ...(await Promise.all(requests.map(judged))),
          ...(await Promise.all(outside.map(judged))),
        ];
        const expected = [
          ...requests.map((r) => `${r.why} [${r.action} ${r.resource}]: allowed`),
          ...outside.map((r) => `${r.why} [${r.action} ${r.resource}]: denied`),
        ];
        expect(actual).toEqual(expected);
      }
    );
  }
);
