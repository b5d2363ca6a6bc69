import type { Output } from './commands';
import type { FaultOutput } from './schemas';
import type { Target } from './target';

/**
 * `orbit fault disconnect|reconnect`: takes a local location's link to its parent region's
 * store down or up (`POST /faults` on the fleet's control endpoint), to rehearse a satellite
 * that loses its network: it keeps serving what it has, its heartbeats stop, governance and
 * rollouts see it go stale. Local fleet only: Orbit never breaks a real location's network.
 */
export async function setLink(
  t: Target,
  location: string,
  link: 'up' | 'down'
): Promise<Output<FaultOutput>> {
  if (!t.local || !t.controlUrl) {
    throw new Error(
      `fault ${link === 'down' ? 'disconnect' : 'reconnect'} rehearses a broken link on the local fleet only (npm start); ${t.description} is not one`
    );
  }
  const url = new URL('faults', t.controlUrl);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ location, link }),
    signal: AbortSignal.timeout(30_000),
  }).catch((err: Error & { cause?: { code?: string } }) => {
    throw new Error(`${url} is unreachable (${err.cause?.code ?? err.message})`);
  });
  const text = await res.text();
  const body = (() => {
    try {
      return JSON.parse(text) as Partial<FaultOutput> & { detail?: string };
    } catch {
      return undefined;
    }
  })();
  if (!res.ok)
    throw new Error(body?.detail ?? `the local fleet answered ${res.status} to POST /faults`);
  if (
    typeof body?.location !== 'string' ||
    typeof body.connected !== 'boolean' ||
    typeof body.since !== 'string'
  ) {
    throw new Error(
      `the local fleet answered POST /faults with something this CLI cannot read: ${text.slice(0, 200)}`
    );
  }
  const data: FaultOutput = {
    location: body.location,
    connected: body.connected,
    since: body.since,
  };
  return {
    text: `location ${data.location} ${data.connected ? 'connected' : 'disconnected'} since ${data.since}`,
    data,
  };
}
