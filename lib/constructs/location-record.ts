import * as iam from 'aws-cdk-lib/aws-iam';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { firstReleasePut } from '../../core/records/desired-traffic';
import { keys } from '../../core/records/keys';
import { registrationUpdate } from '../../core/records/registrations';
import { type StagedRelease, stagedReleaseUpdate } from '../../core/records/staged-releases';
import { lowLevelPut, lowLevelUpdate } from '../../core/records/table';
import { ReleaseSignature, type ReleaseSignatureProps } from './release-signature';

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
  readonly functions?: StagedRelease['functions'];
  /**
   * Per bundle (satellites), by function name plus `runtime`: where its asset sits in S3 and
   * what it must hash to (`bucket`, `key`, `sha256`).
   * @default - none
   */
  readonly artifacts?: StagedRelease['artifacts'];
  /** The release manifest (satellites load functions by it). @default - none */
  readonly manifest?: string;
  /**
   * Sign the release at deploy with the environment's release key, and record the signature
   * with the staged release (satellites load only releases whose signature verifies).
   * @default - not signed (region locations: Lambda runs only what CloudFormation deployed)
   */
  readonly signing?: ReleaseSignatureProps;
  /**
   * Record, on the location's first deploy only, that it serves this release (its
   * desired-traffic record), as the `live` aliases created at their first version do. Region
   * locations need it; satellites' runtimes adopt their first release themselves.
   * @default false
   */
  readonly adoptFirstRelease?: boolean;
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

    // The newest staged release, in one small item: satellites preload it by reading this.
    const registration = lowLevelUpdate(
      registrationUpdate(props.tableName, {
        locationId: props.locationId,
        facts: props.location,
        latestStaged: props.releaseId,
      })
    );
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

    const signature = props.signing
      ? new ReleaseSignature(this, 'Signature', props.signing).signature
      : undefined;
    const staged = lowLevelUpdate(
      stagedReleaseUpdate(props.tableName, {
        locationId: props.locationId,
        releaseId: props.releaseId,
        ...(props.functions ? { functions: props.functions } : {}),
        ...(props.artifacts ? { artifacts: props.artifacts } : {}),
        ...(props.manifest ? { manifest: props.manifest } : {}),
        // A reference to the signature's custom resource: CloudFormation signs first.
        ...(signature ? { signature } : {}),
      })
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
      // onCreate only, and conditional: a later deploy never touches what the location serves.
      new AwsCustomResource(this, 'FirstRelease', {
        resourceType: 'Custom::OrbitFirstRelease',
        installLatestAwsSdk: false,
        onCreate: {
          service: 'DynamoDB',
          action: 'putItem',
          region: props.dataRegion,
          parameters: lowLevelPut(
            firstReleasePut(props.tableName, props.locationId, props.releaseId)
          ),
          physicalResourceId: PhysicalResourceId.of(`first-release:${props.locationId}`),
          ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
        },
        policy: ownRecords('dynamodb:PutItem'),
      });
    }
  }
}
