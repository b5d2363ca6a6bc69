declare module 'dynalite' {
  import type { Server } from 'node:http';

  /** Options of dynalite, the embedded DynamoDB-compatible store. */
  interface DynaliteOptions {
    /** Directory for a LevelDB store; in memory when omitted. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
