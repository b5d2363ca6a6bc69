import { table } from '../cli/format';
import type { LocalFleet } from './fleet';

/** `r-…`, or `r-… + r-… at 25%` while a candidate has traffic. */
const servedBy = (s: LocalFleet['serving'][number]) =>
  s.candidate ? `${s.stable} + ${s.candidate} at ${Math.round(s.weight * 100)}%` : s.stable;

/**
 * What `npm start` prints once the fleet serves: the release the locations actually serve
 * (their desired-traffic records, which a persisted store keeps from the last run), the
 * release this start staged when nothing serves it yet, every location's URL, the store, the
 * issuer, a token and what to try.
 */
export function fleetBanner(fleet: LocalFleet, seconds: string): string {
  const served = new Map(fleet.serving.map((s) => [s.location, servedBy(s)]));
  const releases = new Set(served.values());
  const [only] = releases;
  const uniform = releases.size === 1 && only !== undefined;
  const servesStaged = fleet.serving.some(
    (s) => s.stable === fleet.releaseId || s.candidate === fleet.releaseId
  );
  const header = ['location', 'kind', 'region', 'url', ...(uniform ? [] : ['serving'])];
  const rows = fleet.locations.map((l) => [
    l.id,
    l.kind,
    l.region,
    l.url,
    ...(uniform ? [] : [served.get(l.id) ?? '-']),
  ]);
  const first = fleet.locations[0]?.url ?? 'http://127.0.0.1:4102/';
  return [
    '',
    `Orbit local fleet '${fleet.environment.name}' up in ${seconds} s, ${uniform ? `release ${only}` : 'releases per location below'}`,
    ...(servesStaged
      ? []
      : [
          `staged ${fleet.releaseId} at every location, with no traffic yet: npx orbit rollout start ${fleet.releaseId}`,
        ]),
    '',
    ...table(header, rows).split('\n'),
    '',
    `store   ${fleet.storeEndpoint}`,
    `issuer  ${fleet.issuer.issuer}`,
    '',
    `export ORBIT_TOKEN=${fleet.token}`,
    '',
    `try:  curl -s ${first}health`,
    `      curl -s -X PUT -H "authorization: Bearer $ORBIT_TOKEN" -H 'content-type: application/json' -d '{"hello":"orbit"}' ${first}items/demo`,
    '      npx orbit status',
    '',
    'Ctrl-C stops everything.',
  ].join('\n');
}
