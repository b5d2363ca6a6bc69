import * as iam from 'aws-cdk-lib/aws-iam';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { keys } from '../../functions/shared/keys';

/** Per name (a function, or the runtime), string facts a location needs to find it. */
export type StagedEntries = Readonly<Record<string, Readonly<Record<string, string>>>>;

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
  /**
   * Per function (regions): the Lambda name and the version this deploy staged
   * (`functionName`, `version`).
   * @default - none
   */
  readonly functions?: StagedEntries;
  /**
   * Per bundle (satellites), by function name plus `runtime`: where its asset sits in S3 and
   * what it must hash to (`bucket`, `key`, `sha256`).
   * @default - none
   */
  readonly artifacts?: StagedEntries;
  /** The release manifest (satellites load functions by it). @default - none */
  readonly manifest?: string;
  /**
   * Record, on the location's first deploy only, that it serves this release (its
   * desired-traffic record), as the `live` aliases created at their first version do. Region
   * locations need it; satellites' runtimes adopt their first release themselves.
   * @default false
   */
  readonly adoptFirstRelease?: boolean;
}

type Attr = { S: string } | { M: Record<string, Attr> };
const s = (value: string): Attr => ({ S: value });
const strings = (entries: Readonly<Record<string, string>>): Record<string, Attr> =>
  Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, s(v)]));
const nested = (entries: StagedEntries): Attr => ({
  M: Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, { M: strings(e) }])),
});

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
    const ownRecords = (action: string) =>
      AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: [action],
          resources: [props.tableArn],
          conditions: {
            'ForAllValues:StringEquals': {
              'dynamodb:LeadingKeys': [keys.location(props.locationId).pk],
            },
          },
        }),
      ]);
    const writeOwnRecords = ownRecords('dynamodb:UpdateItem');

    const registration = updateItem(props.tableName, keys.location(props.locationId), {
      type: s('location'),
      locationId: s(props.locationId),
      ...strings(props.location),
      // The newest staged release, in one small item: satellites preload it by reading this.
      latestStaged: s(props.releaseId),
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
        ...(props.functions ? { functions: nested(props.functions) } : {}),
        ...(props.artifacts ? { artifacts: nested(props.artifacts) } : {}),
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

    if (props.adoptFirstRelease) {
      const desired = keys.desiredTraffic(props.locationId);
      // onCreate only, and conditional: a later deploy never touches what the location serves.
      new AwsCustomResource(this, 'FirstRelease', {
        resourceType: 'Custom::OrbitFirstRelease',
        installLatestAwsSdk: false,
        onCreate: {
          service: 'DynamoDB',
          action: 'putItem',
          region: props.dataRegion,
          parameters: {
            TableName: props.tableName,
            Item: {
              pk: s(desired.pk),
              sk: s(desired.sk),
              stable: s(props.releaseId),
              weight: { N: '0' },
              updatedAt: s('first deploy'),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
          physicalResourceId: PhysicalResourceId.of(`first-release:${props.locationId}`),
          ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
        },
        policy: ownRecords('dynamodb:PutItem'),
      });
    }
  }
}
