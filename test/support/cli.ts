import { tableNameOf } from '../../core/names';
import { Records } from '../../core/records';
import type { Command } from '../../core/records/intents';
import { createTableClient } from '../../core/records/table';
import * as commands from '../../lib/cli/commands';
import type { Target } from '../../lib/cli/target';
import type { LocalFleet } from '../../lib/local/fleet';

/** The CLI's commands bound to a running local fleet, as `npx orbit` would target it. */
export function commandsFor(fleet: LocalFleet) {
  const table = createTableClient({
    region: fleet.environment.homeRegion,
    endpoint: fleet.storeEndpoint,
  });
  const tableName = tableNameOf(fleet.environment);
  const target: Target = {
    environment: fleet.environment,
    records: new Records(table, tableName),
    urls: Object.fromEntries(fleet.locations.map((l) => [l.id, l.url])),
    actor: 'local:test',
    local: true,
    description: `the local fleet '${fleet.environment.name}' of this test`,
    runtimes: async () => fleet.runtimes(),
    links: async () => fleet.links(),
    wake: async () => fleet.wake(),
    governance: async () => (await fleet.controlPlane.governance()).length,
  };
  return {
    status: () => commands.status(target),
    stage: (dir?: string) => commands.stage(target, dir),
    submit: (command: Command) => commands.submit(target, command),
    rolloutStatus: () => commands.rolloutStatus(target),
    plan: (release: string) => commands.plan(target, release),
  };
}
