import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import {
  type StagedRelease,
  stagedFunctionNames,
  stagedReleaseUpdate,
} from '../../../core/records/staged-releases';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

const manifestOf = (...names: string[]) =>
  JSON.stringify({ releaseId: R1, functions: names.map((name) => ({ name, handler: 'x' })) });

describe('staged release records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const stored = async (locationId: string, releaseId: string) =>
    (
      await client.send(
        new GetCommand({
          TableName: table.tableName,
          Key: keys.stagedRelease(locationId, releaseId),
        })
      )
    ).Item;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  describe('stage and get', () => {
    const region: StagedRelease = {
      locationId: 'use1',
      releaseId: R1,
      functions: {
        notes: { functionName: 'orbit-dev-use1-notes', version: '7' },
        items: { functionName: 'orbit-dev-use1-items', version: '3' },
      },
    };
    const satellite: StagedRelease = {
      locationId: 'lab',
      releaseId: R1,
      artifacts: {
        runtime: { bucket: 'assets', key: 'runtime.zip', sha256: 'aa' },
        notes: { bucket: 'assets', key: 'notes.zip', sha256: 'bb' },
      },
      manifest: manifestOf('notes'),
      stagedAt: '2026-11-25T12:00:00.000Z',
    };

    it.each([
      ['a region release with its Lambda versions', region],
      ['a satellite release with its artifacts, manifest and time', satellite],
    ])('records %s, and reads it back as staged', async (_, staged) => {
      await records.stagedReleases.stage(staged);
      expect(await records.stagedReleases.get(staged.locationId, R1, { consistent: true })).toEqual(
        {
          ...keys.stagedRelease(staged.locationId, R1),
          type: 'staged-release',
          ...staged,
        }
      );
      expect(await records.stagedReleases.isStaged(staged.locationId, R1)).toBe(true);
    });

    it('says a release nobody staged at the location is not staged', async () => {
      expect(await records.stagedReleases.get('use1', 'r-never')).toBeUndefined();
      expect(await records.stagedReleases.isStaged('use1', 'r-never')).toBe(false);
      expect(await records.stagedReleases.isStaged('elsewhere', R1)).toBe(false);
    });

    it('staging the same release again keeps what other writers keep on the item', async () => {
      const key = keys.stagedRelease('restaged', R1);
      await records.stagedReleases.stage({ locationId: 'restaged', releaseId: R1 });
      await client.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: key,
          UpdateExpression: 'SET smokeTestedAt = :at',
          ExpressionAttributeValues: { ':at': '2026-11-25T12:05:00.000Z' },
        })
      );
      await records.stagedReleases.stage({
        locationId: 'restaged',
        releaseId: R1,
        manifest: manifestOf('notes'),
      });
      expect(await stored('restaged', R1)).toEqual({
        ...key,
        type: 'staged-release',
        locationId: 'restaged',
        releaseId: R1,
        manifest: manifestOf('notes'),
        smokeTestedAt: '2026-11-25T12:05:00.000Z',
      });
    });

    it('sets only the fields a release has', () => {
      expect(
        stagedReleaseUpdate('t', { locationId: 'lab', releaseId: R1 }).ExpressionAttributeNames
      ).toEqual({ '#a0': 'type', '#a1': 'locationId', '#a2': 'releaseId' });
    });
  });

  describe('functionsAt', () => {
    it('reads the Lambda version of each function a region staged', async () => {
      const functions = { notes: { functionName: 'orbit-dev-use2-notes', version: '9' } };
      await records.stagedReleases.stage({ locationId: 'use2', releaseId: R2, functions });
      expect(await records.stagedReleases.functionsAt('use2', R2)).toEqual(functions);
    });

    it('throws when the release is not staged at the location, naming both', async () => {
      await expect(records.stagedReleases.functionsAt('use2', 'r-absent')).rejects.toThrow(
        'release r-absent is not staged at use2'
      );
    });

    it('throws when the record names no Lambda versions (a satellite release)', async () => {
      await records.stagedReleases.stage({
        locationId: 'sat-only',
        releaseId: R2,
        manifest: manifestOf('notes'),
      });
      await expect(records.stagedReleases.functionsAt('sat-only', R2)).rejects.toThrow(
        `release ${R2} is not staged at sat-only`
      );
    });
  });

  describe('releaseFunctions', () => {
    beforeAll(async () => {
      await records.stagedReleases.stage({
        locationId: 'rf-region',
        releaseId: R1,
        functions: {
          notes: { functionName: 'n', version: '1' },
          items: { functionName: 'i', version: '1' },
        },
      });
      await records.stagedReleases.stage({
        locationId: 'rf-satellite',
        releaseId: R1,
        manifest: manifestOf('notes', 'search'),
      });
      await records.stagedReleases.stage({
        locationId: 'rf-region',
        releaseId: R2,
        functions: { billing: { functionName: 'b', version: '1' } },
      });
    });

    it('names the functions of a release at these locations, once each, sorted', async () => {
      expect(
        await records.stagedReleases.releaseFunctions(
          ['rf-satellite', 'rf-region', 'rf-unstaged'],
          R1
        )
      ).toEqual(['items', 'notes', 'search']);
    });

    it('names none for a release staged nowhere', async () => {
      expect(
        await records.stagedReleases.releaseFunctions(['rf-region', 'rf-satellite'], 'r-x')
      ).toEqual([]);
    });
  });

  describe('knownFunctions', () => {
    it('names the functions of every release staged at these locations, over many query pages', async () => {
      // Big manifests (as a release with many functions has): the location's staged releases
      // fill several query pages.
      const releases = Array.from({ length: 8 }, (_, i) => `r-kf${String(i).padStart(14, '0')}`);
      for (const [i, releaseId] of releases.entries()) {
        const manifest = JSON.stringify({
          functions: [{ name: `fn-${i}` }],
          padding: 'x'.repeat(300 * 1024),
        });
        await records.stagedReleases.stage({ locationId: 'kf-lab', releaseId, manifest });
      }
      await records.stagedReleases.stage({
        locationId: 'kf-use1',
        releaseId: R1,
        functions: { regional: { functionName: 'r', version: '1' } },
      });
      // A record in the location's partition that is not a staged release names nothing.
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.location('kf-lab'), functions: { notAStagedRelease: {} } },
        })
      );

      const page = await client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.location('kf-lab').pk },
        })
      );
      expect(page.LastEvaluatedKey).toBeDefined();

      expect(await records.stagedReleases.knownFunctions(['kf-lab', 'kf-use1', 'kf-none'])).toEqual(
        [...releases.map((_, i) => `fn-${i}`), 'regional'].sort()
      );
    });
  });

  describe('stagedFunctionNames', () => {
    it.each<[string, Record<string, unknown> | undefined, string[]]>([
      ['its manifest', { manifest: manifestOf('notes', 'items') }, ['notes', 'items']],
      [
        'its per-function map',
        { functions: { notes: { functionName: 'n', version: '1' } } },
        ['notes'],
      ],
      [
        'both, once each',
        {
          manifest: manifestOf('notes', 'search'),
          functions: { notes: {}, items: {} },
        },
        ['notes', 'search', 'items'],
      ],
      ['nothing from a manifest that is not JSON', { manifest: '{not json' }, []],
      ['nothing from a manifest without functions', { manifest: '{"releaseId":"r"}' }, []],
      ['nothing from a manifest that is JSON null', { manifest: 'null' }, []],
      [
        'only the functions whose name is a string',
        { manifest: JSON.stringify({ functions: [{ name: 7 }, { name: 'ok' }, {}] }) },
        ['ok'],
      ],
      [
        'the map even when the manifest does not parse',
        { manifest: '{', functions: { items: {} } },
        ['items'],
      ],
      ['nothing from a record without either', { releaseId: R1 }, []],
      ['nothing from no record', undefined, []],
    ])('of a record reads %s', (_, item, expected) => {
      expect(stagedFunctionNames(item)).toEqual(expected);
    });
  });
});
