import * as iam from 'aws-cdk-lib/aws-iam';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { keys } from '../../functions/shared/keys';

/** Props of a {@link LocationRecords}. */
export interface LocationRecordsProps {
  readonly tableName: string;
  /** ARN of the table in the data region (the only table the writes may touch). */
  readonly tableArn: string;
  readonly dataRegion: string;
  readonly locationId: string;
  readonly releaseId: string;
  /** Facts about the location for the CLI and orchestrator (kind, region, API URL, …). */
  readonly location: Readonly<Record<string, string>>;
  /** Per function (regions): the Lambda name and the version this deploy staged. @default - none */
  readonly functions?: Readonly<
    Record<string, { readonly functionName: string; readonly version: string }>
  >;
  /** Per bundle (satellites): the S3 object of its asset. @default - none */
  readonly artifacts?: Readonly<Record<string, { readonly bucket: string; readonly key: string }>>;
  /** The release manifest (satellites load functions by it). @default - none */
  readonly manifest?: string;
}

type Attr = { S: string } | { M: Record<string, Attr> };
const s = (value: string): Attr => ({ S: value });

function updateItem(
  tableName: string,
  key: { pk: string; sk: string },
  attributes: Record<string, Attr>
) {
  const names = Object.keys(attributes);
  return {
    TableName: tableName,
    Key: { pk: s(key.pk), sk: s(key.sk) },
    // SET only what the deploy owns: the orchestrator's fields on the same item survive.
    UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
    ExpressionAttributeValues: Object.fromEntries(
      names.map((n, i) => [`:v${i}`, attributes[n] as Attr])
    ),
  };
}

/**
 * Registers the location and records the release a deploy staged there, in the global
 * table of the location's data region. These records are how the orchestrator learns that a
 * release is ready at a location; writing them moves no traffic.
 */
export class LocationRecords extends Construct {
  constructor(scope: Construct, id: string, props: LocationRecordsProps) {
    super(scope, id);
    const writeOwnRecords = AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [props.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [keys.location(props.locationId).pk],
          },
        },
      }),
    ]);

    const registration = updateItem(props.tableName, keys.location(props.locationId), {
      type: s('location'),
      locationId: s(props.locationId),
      ...Object.fromEntries(Object.entries(props.location).map(([k, v]) => [k, s(v)])),
    });
    new AwsCustomResource(this, 'Registration', {
      resourceType: 'Custom::OrbitLocationRegistration',
      installLatestAwsSdk: false,
      onUpdate: {
        service: 'DynamoDB',
        action: 'updateItem',
        region: props.dataRegion,
        parameters: registration,
        physicalResourceId: PhysicalResourceId.of(`location:${props.locationId}`),
      },
      policy: writeOwnRecords,
    });

    const staged = updateItem(
      props.tableName,
      keys.stagedRelease(props.locationId, props.releaseId),
      {
        type: s('staged-release'),
        locationId: s(props.locationId),
        releaseId: s(props.releaseId),
        ...(props.functions
          ? {
              functions: {
                M: Object.fromEntries(
                  Object.entries(props.functions).map(([name, f]) => [
                    name,
                    { M: { functionName: s(f.functionName), version: s(f.version) } },
                  ])
                ),
              },
            }
          : {}),
        ...(props.artifacts
          ? {
              artifacts: {
                M: Object.fromEntries(
                  Object.entries(props.artifacts).map(([name, a]) => [
                    name,
                    { M: { bucket: s(a.bucket), key: s(a.key) } },
                  ])
                ),
              },
            }
          : {}),
        ...(props.manifest ? { manifest: s(props.manifest) } : {}),
      }
    );
    new AwsCustomResource(this, 'StagedRelease', {
      resourceType: 'Custom::OrbitStagedRelease',
      installLatestAwsSdk: false,
      onUpdate: {
        service: 'DynamoDB',
        action: 'updateItem',
        region: props.dataRegion,
        parameters: staged,
        physicalResourceId: PhysicalResourceId.of(`staged:${props.locationId}:${props.releaseId}`),
      },
      policy: writeOwnRecords,
    });
  }
}
