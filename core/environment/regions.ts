/**
 * Facts about AWS regions that Orbit needs offline, at synth: where each region is (to find
 * the nearest data region for a location) and which regions can form a multi-Region strong
 * consistency (MRSC) global table.
 */

/** Approximate coordinates of each AWS commercial region (latitude, longitude in degrees). */
export const REGION_COORDINATES: Readonly<Record<string, readonly [number, number]>> = {
  'us-east-1': [38.9, -77.4],
  'us-east-2': [40.0, -83.0],
  'us-west-1': [37.4, -121.9],
  'us-west-2': [45.8, -119.7],
  'ca-central-1': [45.5, -73.6],
  'ca-west-1': [51.0, -114.1],
  'mx-central-1': [20.6, -100.4],
  'sa-east-1': [-23.5, -46.6],
  'eu-west-1': [53.3, -6.3],
  'eu-west-2': [51.5, -0.1],
  'eu-west-3': [48.9, 2.4],
  'eu-central-1': [50.1, 8.7],
  'eu-central-2': [47.4, 8.5],
  'eu-north-1': [59.3, 18.1],
  'eu-south-1': [45.5, 9.2],
  'eu-south-2': [41.7, -0.9],
  'il-central-1': [32.1, 34.8],
  'me-central-1': [25.2, 55.3],
  'me-south-1': [26.1, 50.6],
  'af-south-1': [-33.9, 18.4],
  'ap-east-1': [22.3, 114.2],
  'ap-south-1': [19.1, 72.9],
  'ap-south-2': [17.4, 78.5],
  'ap-northeast-1': [35.7, 139.7],
  'ap-northeast-2': [37.6, 127.0],
  'ap-northeast-3': [34.7, 135.5],
  'ap-southeast-1': [1.3, 103.8],
  'ap-southeast-2': [-33.9, 151.2],
  'ap-southeast-3': [-6.2, 106.8],
  'ap-southeast-4': [-37.8, 145.0],
  'ap-southeast-5': [3.1, 101.7],
  'ap-southeast-7': [13.8, 100.5],
};

/** The region sets inside which DynamoDB can build an MRSC global table. */
export const MRSC_REGION_SETS: Readonly<Record<string, readonly string[]>> = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
};

/** True when Orbit knows where `region` is. */
export function isKnownRegion(region: string): boolean {
  return region in REGION_COORDINATES;
}

/** Great-circle distance in kilometres between two known regions. */
export function distanceKm(from: string, to: string): number {
  const a = REGION_COORDINATES[from];
  const b = REGION_COORDINATES[to];
  if (!a || !b) {
    throw new Error(`unknown region: ${a ? to : from}`);
  }
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/**
 * The candidate closest to `region`: `region` itself when it is a candidate. Ties go to the
 * candidate listed first, so the answer never depends on anything but the config.
 */
export function nearestRegion(region: string, candidates: readonly string[]): string {
  if (candidates.includes(region)) return region;
  let best: string | undefined;
  let bestKm = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const km = distanceKm(region, candidate);
    if (km < bestKm) {
      best = candidate;
      bestKm = km;
    }
  }
  if (!best) throw new Error('nearestRegion needs at least one candidate');
  return best;
}

/** The name of the MRSC region set holding every one of `regions`, if there is one. */
export function mrscRegionSetOf(regions: readonly string[]): string | undefined {
  return Object.entries(MRSC_REGION_SETS).find(([, set]) =>
    regions.every((r) => set.includes(r))
  )?.[0];
}
