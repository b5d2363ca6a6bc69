import { locationContextFromEnv } from '../../../core/location-env';
import { createTableClient } from '../../../core/records/table';
import { orbitHandler } from '../../shared/orbit-handler';
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
