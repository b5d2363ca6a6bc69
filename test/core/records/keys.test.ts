import { ITEMS_PARTITION, keys, platformPartitions } from '../../../core/records/keys';

describe('the key scheme', () => {
  it.each([
    ['a location', keys.location('lab'), 'LOCATION#lab', 'LOCATION'],
    ['a staged release', keys.stagedRelease('lab', 'r-1'), 'LOCATION#lab', 'RELEASE#r-1'],
    ['a location drain', keys.locationDrain('lab'), 'LOCATION#lab', 'DRAIN'],
    ['desired traffic', keys.desiredTraffic('lab'), 'LOCATION#lab', 'DESIRED'],
    ['a heartbeat', keys.heartbeat('lab'), 'LOCATION#lab', 'HEARTBEAT'],
    ['a function drain', keys.functionDrain('notes'), 'FUNCTION#notes', 'DRAIN'],
    ['the active-rollout slot', keys.activeRollout, 'CONTROL', 'ACTIVE_ROLLOUT'],
    ['the environment definition', keys.environmentDefinition, 'CONTROL', 'ENVIRONMENT'],
    ['a rollout', keys.rollout('ro-1'), 'ROLLOUT#ro-1', 'ROLLOUT'],
    ['an intent', keys.intent(1_000, 'abc'), 'INTENTS', 'INTENT#000000000001000#abc'],
    [
      'an audit entry',
      keys.audit('2026-11-25T12:00:00.000Z', 'id'),
      'AUDIT',
      '2026-11-25T12:00:00.000Z#id',
    ],
    ['a finding', keys.finding('drift', 'lab'), 'FINDINGS', 'drift#lab'],
    ['an item', keys.item('a-1'), ITEMS_PARTITION, 'ITEM#a-1'],
  ])('keys %s', (_, key, pk, sk) => {
    expect(key).toEqual({ pk, sk });
  });

  it('orders intent keys by time as text: the time is padded', () => {
    const times = [999, 1_000, 10_000, Date.UTC(2026, 10, 25)];
    const sks = times.map((t) => keys.intent(t, 'x').sk);
    expect([...sks].sort()).toEqual(sks);
  });

  it('keeps every record of a location in its partition, so one query reads them', () => {
    const partitions = new Set(
      [
        keys.location('lab'),
        keys.stagedRelease('lab', 'r-1'),
        keys.locationDrain('lab'),
        keys.desiredTraffic('lab'),
        keys.heartbeat('lab'),
      ].map((k) => k.pk)
    );
    expect([...partitions]).toEqual(['LOCATION#lab']);
  });

  it('turns an item sort key back into its id, and an id prefix into a sort key prefix', () => {
    expect(keys.itemIdOf(keys.item('a-1').sk)).toBe('a-1');
    expect(keys.item('abc').sk.startsWith(keys.itemPrefix('ab'))).toBe(true);
  });

  it("lets a function read its location's partition and its own drain flag", () => {
    expect(platformPartitions('lab', 'notes')).toEqual([
      keys.location('lab').pk,
      keys.functionDrain('notes').pk,
    ]);
  });
});
