import { keys } from './keys';
import { getItem, type RecordTable } from './table';

/**
 * The environment definition the control-plane stack records (`CONTROL`/`ENVIRONMENT`), as
 * JSON: one release of the orchestrator serves every environment, so its configuration is data.
 */
export function definitionPut(tableName: string, definition: string) {
  return { TableName: tableName, Item: { ...keys.environmentDefinition, definition } };
}

/** The stored environment definition. */
export class DefinitionRecords {
  constructor(private readonly table: RecordTable) {}

  /** The definition as stored (JSON), or `undefined` when the control plane never recorded one. */
  async get(): Promise<string | undefined> {
    const item = await getItem(this.table, keys.environmentDefinition, { consistent: true });
    return typeof item?.definition === 'string' ? item.definition : undefined;
  }
}
