import { LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Records } from '../../../../core/records';
import { keys } from '../../../../core/records/keys';
import { LambdaTrafficDriver } from '../../../../functions/orchestrator/adapters/lambda-traffic';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

/**
 * Global tables replicate asynchronously ("How DynamoDB global tables work", DynamoDB
 * developer guide): a function in a data region other than the home region may read an older
 * desired-traffic record. A move that adds a release waits until that replica shows it
 * (strongly consistent reads there) before routing to the release.
 */
describe('a traffic move that adds a release waits for the data-region replica', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const lambda = mockClient(LambdaClient);
  /** A replica that shows the old record for its first `lagReads` reads, then the table. */
  const laggingReplica = (lagReads: number) => {
    const reads: { consistent?: boolean }[] = [];
    const replica = {
      send: async (command: GetCommand) => {
        reads.push({ consistent: command.input.ConsistentRead });
        if (reads.length <= lagReads) {
          return { Item: { ...keys.desiredTraffic('euc1'), stable: R1, weight: 0 }, $metadata: {} };
        }
        return client.send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    return { replica, reads };
  };

  beforeAll(async () => {
    table = await createTestTable();
    for (const [release, version] of [
      [R1, '1'],
      [R2, '2'],
    ] as const) {
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: {
            ...keys.stagedRelease('euc1', release),
            functions: { items: { functionName: 'orbit-prod-items', version } },
          },
        })
      );
    }
  });
  afterAll(() => table.drop());
  beforeEach(async () => {
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.desiredTraffic('euc1'), stable: R1, weight: 0, updatedAt: 'earlier' },
      })
    );
    lambda.reset();
    lambda.on(UpdateAliasCommand).resolves({});
  });

  const driver = (replica: DynamoDBDocumentClient, replicationTimeoutMs = 10_000) =>
    new LambdaTrafficDriver({
      records: new Records(client, table.tableName),
      regionOf: () => 'eu-central-1',
      replicaOf: () => new Records(replica, table.tableName),
      replicationTimeoutMs,
      servedRecheckMs: 0,
    });

  it('moves the aliases only once the replica shows the record, read strongly consistent', async () => {
    const { replica, reads } = laggingReplica(3);
    let readsBeforeAlias = -1;
    lambda.on(UpdateAliasCommand).callsFake(async () => {
      readsBeforeAlias = reads.length;
      return {};
    });
    await driver(replica).apply('euc1', { stable: R1, candidate: R2, weight: 0.05 });
    expect(readsBeforeAlias).toBe(4);
    expect(reads.every((r) => r.consistent === true)).toBe(true);
  });

  it('fails the move, with the reason and no alias moved, when the replica never shows it', async () => {
    const { replica } = laggingReplica(Number.POSITIVE_INFINITY);
    await expect(
      driver(replica, 200).apply('euc1', { stable: R1, candidate: R2, weight: 0.05 })
    ).rejects.toThrow(/did not reach its data region's replica within 200 ms; traffic not moved/);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
  });

  it('does not wait on a replica for a move that adds nothing (a rollback)', async () => {
    const { replica, reads } = laggingReplica(Number.POSITIVE_INFINITY);
    await driver(replica, 200).apply('euc1', { stable: R1, weight: 0 });
    expect(reads).toHaveLength(0);
    const desired = await client.send(
      new GetCommand({ TableName: table.tableName, Key: keys.desiredTraffic('euc1') })
    );
    expect(desired.Item).toMatchObject({ stable: R1, weight: 0 });
  });
});
