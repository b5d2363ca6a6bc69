import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import {
  desiredTrafficOf,
  FIRST_DEPLOY,
  firstReleasePut,
  servedReleases,
  servesRelease,
  type TrafficSplit,
} from '../../../core/records/desired-traffic';
import { keys } from '../../../core/records/keys';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';
const AT = Date.UTC(2026, 10, 25, 12);

describe('desired traffic records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const stored = async (locationId: string) =>
    (
      await client.send(
        new GetCommand({ TableName: table.tableName, Key: keys.desiredTraffic(locationId) })
      )
    ).Item;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  describe('put', () => {
    it.each<[string, TrafficSplit, Record<string, unknown>]>([
      ['the stable release alone', { stable: R1, weight: 0 }, { stable: R1, weight: 0 }],
      [
        'a candidate with its share',
        { stable: R1, candidate: R2, weight: 0.25 },
        { stable: R1, candidate: R2, weight: 0.25 },
      ],
      [
        'no candidate when it has no weight',
        { stable: R1, candidate: R2, weight: 0 },
        { stable: R1, weight: 0 },
      ],
      ['no weight without a candidate', { stable: R1, weight: 0.5 }, { stable: R1, weight: 0 }],
    ])('records %s, with when it was written', async (label, split, expected) => {
      const id = `put ${label}`;
      const desired = await records.desired.put(id, split, AT);
      const updatedAt = new Date(AT).toISOString();
      expect(desired).toEqual({ ...expected, updatedAt });
      expect(await stored(id)).toEqual({ ...keys.desiredTraffic(id), ...expected, updatedAt });
      expect(await records.desired.get(id, { consistent: true })).toEqual(await stored(id));
    });

    it('replaces what the location served before: weights are absolute', async () => {
      await records.desired.put('replaced', { stable: R1, candidate: R2, weight: 0.5 }, AT);
      await records.desired.put('replaced', { stable: R2, weight: 0 }, AT + 1_000);
      expect(await stored('replaced')).toEqual({
        ...keys.desiredTraffic('replaced'),
        stable: R2,
        weight: 0,
        updatedAt: new Date(AT + 1_000).toISOString(),
      });
    });
  });

  it('reads undefined for a location that never recorded what it serves', async () => {
    expect(await records.desired.get('never')).toBeUndefined();
  });

  describe('adopt', () => {
    it('makes the release what a fresh location serves, once: a second adopt is refused and the record stands', async () => {
      expect(await records.desired.adopt('fresh', R1, FIRST_DEPLOY)).toBe(true);
      const first = await stored('fresh');
      expect(first).toEqual({
        ...keys.desiredTraffic('fresh'),
        stable: R1,
        weight: 0,
        updatedAt: FIRST_DEPLOY,
      });
      expect(await records.desired.adopt('fresh', R2, '2026-11-26T00:00:00.000Z')).toBe(false);
      expect(await stored('fresh')).toEqual(first);
    });

    it('is refused at a location the orchestrator already moved', async () => {
      await records.desired.put('moved', { stable: R1, candidate: R2, weight: 0.1 }, AT);
      const before = await stored('moved');
      expect(await records.desired.adopt('moved', R2, FIRST_DEPLOY)).toBe(false);
      expect(await stored('moved')).toEqual(before);
    });

    it('writes the very put a first deploy sends', () => {
      expect(firstReleasePut('t', 'lab', R1)).toEqual({
        TableName: 't',
        Item: { ...keys.desiredTraffic('lab'), stable: R1, weight: 0, updatedAt: FIRST_DEPLOY },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });
  });

  describe('servesRelease', () => {
    it.each<[string, Partial<TrafficSplit> | undefined, string, boolean]>([
      ['serves what it runs when nothing is recorded (its first deploy)', undefined, R1, true],
      ['serves what it runs when the record names no stable release', { weight: 0 }, R1, true],
      ['serves its stable release', { stable: R1, weight: 0 }, R1, true],
      ['does not serve another release', { stable: R1, weight: 0 }, R2, false],
      ['serves a candidate with weight', { stable: R1, candidate: R2, weight: 0.1 }, R2, true],
      [
        'does not serve a candidate without weight',
        { stable: R1, candidate: R2, weight: 0 },
        R2,
        false,
      ],
      [
        'does not serve a candidate with no weight recorded',
        { stable: R1, candidate: R2 },
        R2,
        false,
      ],
      [
        'still serves its stable release while a candidate has all the weight',
        { stable: R1, candidate: R2, weight: 1 },
        R1,
        true,
      ],
    ])('a location %s', (_, desired, release, expected) => {
      expect(servesRelease(desired, release)).toBe(expected);
    });
  });

  describe('servedReleases', () => {
    it.each<[string, TrafficSplit, string[]]>([
      ['the stable release alone', { stable: R1, weight: 0 }, [R1]],
      ['no candidate without weight', { stable: R1, candidate: R2, weight: 0 }, [R1]],
      [
        'the stable release and a candidate with weight',
        { stable: R1, candidate: R2, weight: 0.5 },
        [R1, R2],
      ],
    ])('of a split are %s', (_, split, expected) => {
      expect(servedReleases(split)).toEqual(expected);
    });
  });

  it('stamps the record with the time it was written, in ISO 8601', () => {
    expect(desiredTrafficOf({ stable: R1, weight: 0 }, AT).updatedAt).toBe(
      '2026-11-25T12:00:00.000Z'
    );
  });
});
