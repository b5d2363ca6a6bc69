import { locationContextFromEnv } from '../../shared/env';
import { orbitHandler } from '../../shared/orbit-handler';
import { createTableClient } from '../../shared/table';
import { declaration } from './function';
import { itemRoutes } from './items';
import { ItemStore } from './store';

const location = locationContextFromEnv();
const table = createTableClient({ region: location.dataRegion });
const store = new ItemStore({
  table,
  tableName: location.tableName,
  locationId: location.locationId,
});

/** The items API over the global table; see README "The items API". */
export const handler = orbitHandler(declaration, itemRoutes(store), { location, table });
