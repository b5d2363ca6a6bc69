import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A port the local fleet could not bind, said in one line. */
export class PortInUseError extends Error {
  constructor(port: number, what: string) {
    super(
      `port ${port} is already in use (wanted for ${what}); free it or choose another base port with --port`
    );
    this.name = 'PortInUseError';
  }
}

/** Listens on loopback; a taken port becomes a {@link PortInUseError} naming what wanted it. */
export function listen(server: Server, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, what) : err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server and every connection it holds. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
