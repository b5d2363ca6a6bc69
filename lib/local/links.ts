import { type StoreProxy, startStoreProxy } from './store-proxy';

/** Whether a location of the local fleet reaches the store and the issuer, and since when. */
export interface LinkStatus {
  readonly location: string;
  readonly connected: boolean;
  /** When it last changed (ISO 8601): the fleet's start while it never did. */
  readonly since: string;
}

/** One location's link to the control plane: what `orbit fault disconnect` cuts. */
export interface LocationLink {
  /** The store endpoint to give the location's runtime. */
  readonly storeEndpoint: string;
  /** The issuer's key set, as the runtime must fetch it. */
  readonly jwksUri: string;
  status(): LinkStatus;
  /** Cuts the link (`false`) or restores it (`true`); the same state again changes nothing. */
  set(connected: boolean): LinkStatus;
  stop(): Promise<void>;
}

/**
 * A location's link: proxies between its runtime and the store, and between it and the token
 * issuer, cut and restored together — as a site losing its uplink loses both. Cut, open
 * connections are reset and new ones refused, so the runtime sees its pulls fail at once.
 */
export async function startLocationLink(
  location: string,
  storePort: number,
  issuer: { readonly port: number; readonly jwksPath: string }
): Promise<LocationLink> {
  const proxies: StoreProxy[] = [];
  try {
    proxies.push(await startStoreProxy(storePort));
    proxies.push(await startStoreProxy(issuer.port));
  } catch (err) {
    await Promise.all(proxies.map((p) => p.stop()));
    throw err;
  }
  const [store, tokens] = proxies as [StoreProxy, StoreProxy];
  let status: LinkStatus = { location, connected: true, since: new Date().toISOString() };
  return {
    storeEndpoint: store.endpoint,
    jwksUri: `${tokens.endpoint}${issuer.jwksPath}`,
    status: () => status,
    set: (connected) => {
      if (connected === status.connected) return status;
      for (const proxy of proxies) {
        if (connected) proxy.up();
        else proxy.down();
      }
      status = { location, connected, since: new Date().toISOString() };
      return status;
    },
    stop: async () => {
      await Promise.all(proxies.map((p) => p.stop()));
    },
  };
}
