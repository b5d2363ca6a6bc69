import {
  type AttributeValue,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Records } from '../../../core/records';
import { FIRST_DEPLOY } from '../../../core/records/desired-traffic';
import type { StagedRelease } from '../../../core/records/staged-releases';
import {
  LocationRecords,
  type LocationRecordsProps,
} from '../../../lib/constructs/location-record';
import { sdkCall } from '../../support/cfn';
import { testTableClient } from '../../support/handlers';
import { fakeRelease } from '../../support/release';
import { createTestTable, testDynamoClient } from '../../support/table';

/** What the AwsCustomResource handler is given: one SDK call, per CloudFormation event. */
interface SdkCall {
  readonly service: string;
  readonly action: 'updateItem' | 'putItem';
  readonly region: string;
  readonly parameters: Record<string, any>;
  readonly physicalResourceId: { readonly id: string };
  readonly ignoreErrorCodesMatching?: string;
}

const RESOURCE_TYPES = {
  registration: 'Custom::OrbitLocationRegistration',
  staged: 'Custom::OrbitStagedRelease',
  first: 'Custom::OrbitFirstRelease',
} as const;

type Deploy = Omit<LocationRecordsProps, 'tableName' | 'tableArn' | 'dataRegion'>;

const releaseA = fakeRelease('A').manifest;
const releaseB = fakeRelease('B').manifest;

/** A region location, as RegionLocationStack records it. */
const regionDeploy = (manifest: typeof releaseA): Deploy => ({
  locationId: 'use1',
  releaseId: manifest.releaseId,
  location: {
    kind: 'region',
    region: 'us-east-1',
    dataRegion: 'us-east-1',
    apiUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/',
  },
  manifest: JSON.stringify(manifest),
  adoptFirstRelease: true,
  functions: Object.fromEntries(
    manifest.functions.map((fn, i) => [
      fn.name,
      { functionName: `orbit-test-${fn.name}`, version: String(i + 1) },
    ])
  ),
});

/** A satellite location, as SatelliteLocationStack records it. */
const satelliteDeploy = (manifest: typeof releaseA): Deploy => ({
  locationId: 'lab',
  releaseId: manifest.releaseId,
  location: { kind: 'satellite', region: 'us-east-1', dataRegion: 'us-east-1' },
  manifest: JSON.stringify(manifest),
  artifacts: {
    ...Object.fromEntries(
      manifest.functions.map((fn) => [
        fn.name,
        { bucket: 'cdk-assets', key: `${fn.sha256}.zip`, sha256: fn.sha256 },
      ])
    ),
    runtime: { bucket: 'cdk-assets', key: 'runtime.zip', sha256: manifest.runtime.sha256 },
  },
});

/**
 * The CDK records custom resources (what `cdk deploy` writes in AWS) and the local fleet
 * (`Records`) must store the same items: the orchestrator, satellites and the CLI read both.
 * The custom resources' SDK calls are taken from the synthesized template and sent with the
 * low-level client, as the AwsCustomResource handler sends them.
 */
describe('the records custom resources and the local fleet', () => {
  const raw = testDynamoClient();
  const client = testTableClient();
  let deployed: Awaited<ReturnType<typeof createTestTable>>;
  let fleet: Awaited<ReturnType<typeof createTestTable>>;

  beforeEach(async () => {
    deployed = await createTestTable();
    fleet = await createTestTable();
  });
  afterEach(async () => {
    await deployed.drop();
    await fleet.drop();
  });
  afterAll(() => raw.destroy());

  /** The template of a stack holding only the location's records, for the deployed table. */
  const synth = (deploy: Deploy) => {
    const stack = new Stack(new App(), 'Records', {
      env: { account: '111111111111', region: 'us-east-1' },
    });
    new LocationRecords(stack, 'Records', {
      ...deploy,
      tableName: deployed.tableName,
      tableArn: `arn:aws:dynamodb:us-east-1:111111111111:table/${deployed.tableName}`,
      dataRegion: 'us-east-1',
    });
    return Template.fromStack(stack);
  };

  /** The Create and Update calls of the one custom resource of `type`. */
  const callsOf = (template: Template, type: string) => {
    const found = Object.values(template.findResources(type));
    expect(found).toHaveLength(1);
    const props = found[0]?.Properties as { Create?: unknown; Update?: unknown };
    return {
      create: sdkCall(props.Create) as SdkCall | undefined,
      update: sdkCall(props.Update) as SdkCall | undefined,
    };
  };

  /** Sends a call as the handler does; an error its `ignoreErrorCodesMatching` names is no failure. */
  const send = async (call: SdkCall | undefined) => {
    if (!call) throw new Error('no SDK call for this event');
    expect(call).toMatchObject({ service: 'DynamoDB', region: 'us-east-1' });
    const command =
      call.action === 'updateItem'
        ? new UpdateItemCommand(call.parameters as any)
        : new PutItemCommand(call.parameters as any);
    try {
      await raw.send(command as any);
      return 'written';
    } catch (err) {
      const ignore = call.ignoreErrorCodesMatching;
      if (ignore && new RegExp(ignore).test((err as Error).name)) return 'ignored';
      throw err;
    }
  };

  /** Every item of a table in the low-level form (types included), by key. */
  const items = async (tableName: string) => {
    const out = await raw.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
    const byKey: Record<string, Record<string, AttributeValue>> = {};
    for (const item of out.Items ?? []) byKey[`${item.pk?.S} ${item.sk?.S}`] = item;
    return byKey;
  };

  /** What the local fleet writes for a deploy (lib/local/fleet.ts stageEverywhere), through Records. */
  const fleetStages = async (
    deploy: Deploy,
    stamps: { stagedAt?: string; adoptedAt?: string } = {}
  ) => {
    const records = new Records(client, fleet.tableName);
    await records.registrations.register({
      locationId: deploy.locationId,
      facts: deploy.location,
      latestStaged: deploy.releaseId,
    });
    const staged: StagedRelease = {
      locationId: deploy.locationId,
      releaseId: deploy.releaseId,
      ...(deploy.functions ? { functions: deploy.functions } : {}),
      ...(deploy.artifacts ? { artifacts: deploy.artifacts } : {}),
      ...(deploy.manifest ? { manifest: deploy.manifest } : {}),
      ...(stamps.stagedAt ? { stagedAt: stamps.stagedAt } : {}),
    };
    await records.stagedReleases.stage(staged);
    return deploy.adoptFirstRelease
      ? records.desired.adopt(deploy.locationId, deploy.releaseId, stamps.adoptedAt ?? FIRST_DEPLOY)
      : undefined;
  };

  it('synthesizes one custom resource per record, the first release only for a region', () => {
    const region = synth(regionDeploy(releaseA));
    for (const type of Object.values(RESOURCE_TYPES)) region.resourceCountIs(type, 1);
    const satellite = synth(satelliteDeploy(releaseA));
    satellite.resourceCountIs(RESOURCE_TYPES.registration, 1);
    satellite.resourceCountIs(RESOURCE_TYPES.staged, 1);
    satellite.resourceCountIs(RESOURCE_TYPES.first, 0);
  });

  it('makes the same call on create and update for the registration and the staged release, and the first release on create only', () => {
    const template = synth(regionDeploy(releaseA));
    for (const type of [RESOURCE_TYPES.registration, RESOURCE_TYPES.staged]) {
      const { create, update } = callsOf(template, type);
      expect(create?.action).toBe('updateItem');
      expect(update).toEqual(create);
    }
    const first = callsOf(template, RESOURCE_TYPES.first);
    expect(first.update).toBeUndefined();
    expect(first.create).toMatchObject({
      action: 'putItem',
      parameters: { ConditionExpression: 'attribute_not_exists(pk)' },
      ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
    });
  });

  it.each([
    ['a region location', regionDeploy(releaseA)],
    ['a satellite location', satelliteDeploy(releaseA)],
  ])("stores the same items for %s's first deploy", async (_, deploy) => {
    const template = synth(deploy);
    expect(await send(callsOf(template, RESOURCE_TYPES.registration).create)).toBe('written');
    expect(await send(callsOf(template, RESOURCE_TYPES.staged).create)).toBe('written');
    if (deploy.adoptFirstRelease) {
      expect(await send(callsOf(template, RESOURCE_TYPES.first).create)).toBe('written');
    }
    expect(await fleetStages(deploy)).toBe(deploy.adoptFirstRelease ? true : undefined);

    const viaCdk = await items(deployed.tableName);
    const viaFleet = await items(fleet.tableName);
    const pk = `LOCATION#${deploy.locationId}`;
    expect(Object.keys(viaCdk).sort()).toEqual(
      [
        `${pk} LOCATION`,
        `${pk} RELEASE#${deploy.releaseId}`,
        ...(deploy.adoptFirstRelease ? [`${pk} DESIRED`] : []),
      ].sort()
    );
    // Attribute for attribute, types included: neither side writes a field the other does not.
    expect(viaFleet).toEqual(viaCdk);
  });

  it('stores the same items after a second deploy, and neither moves what the location serves', async () => {
    const first = regionDeploy(releaseA);
    const second = regionDeploy(releaseB);
    expect(second.releaseId).not.toBe(first.releaseId);

    // First deploy: every resource is created.
    const t1 = synth(first);
    await send(callsOf(t1, RESOURCE_TYPES.registration).create);
    await send(callsOf(t1, RESOURCE_TYPES.staged).create);
    await send(callsOf(t1, RESOURCE_TYPES.first).create);
    await fleetStages(first);

    // Second deploy: the registration is updated; the staged release has a new physical id
    // (a new resource: created); the first release has no update call at all.
    const t2 = synth(second);
    expect(callsOf(t2, RESOURCE_TYPES.staged).create?.physicalResourceId.id).toBe(
      `staged:use1:${second.releaseId}`
    );
    expect(callsOf(t2, RESOURCE_TYPES.first).update).toBeUndefined();
    await send(callsOf(t2, RESOURCE_TYPES.registration).update);
    await send(callsOf(t2, RESOURCE_TYPES.staged).create);
    // The fleet adopts every time it stages: refused once the location serves something.
    expect(await fleetStages(second)).toBe(false);

    const viaCdk = await items(deployed.tableName);
    expect(await items(fleet.tableName)).toEqual(viaCdk);
    expect(Object.keys(viaCdk)).toHaveLength(4);
    expect(viaCdk['LOCATION#use1 LOCATION']?.latestStaged).toEqual({ S: second.releaseId });
    expect(viaCdk['LOCATION#use1 DESIRED']?.stable).toEqual({ S: first.releaseId });
  });

  it('leaves what the location serves when the first-release call runs again: its refusal is ignored', async () => {
    const deploy = regionDeploy(releaseA);
    const call = callsOf(synth(deploy), RESOURCE_TYPES.first).create;
    expect(await send(call)).toBe('written');
    const before = await items(deployed.tableName);
    // A replaced resource (a new logical id) creates again.
    expect(await send(call)).toBe('ignored');
    expect(await items(deployed.tableName)).toEqual(before);
  });

  it("differs only in the fleet's own stamps when it stamps the staged release and the adoption", async () => {
    const deploy = regionDeploy(releaseA);
    const template = synth(deploy);
    for (const type of Object.values(RESOURCE_TYPES)) await send(callsOf(template, type).create);
    const at = '2026-11-25T12:00:00.000Z';
    await fleetStages(deploy, { stagedAt: at, adoptedAt: at });

    const viaCdk = await items(deployed.tableName);
    const viaFleet = await items(fleet.tableName);
    const staged = `LOCATION#use1 RELEASE#${deploy.releaseId}`;
    const { stagedAt, ...rest } = viaFleet[staged] ?? {};
    expect(stagedAt).toEqual({ S: at });
    expect(rest).toEqual(viaCdk[staged]);
    expect(viaFleet['LOCATION#use1 DESIRED']).toEqual({
      ...viaCdk['LOCATION#use1 DESIRED'],
      updatedAt: { S: at },
    });
    expect(viaFleet['LOCATION#use1 LOCATION']).toEqual(viaCdk['LOCATION#use1 LOCATION']);
  });
});
