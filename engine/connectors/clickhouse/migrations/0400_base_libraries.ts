import { BASE_LIBRARY_TABLES, incidentBaseImpact, incidentBaseImpactExact } from '../tables/base.ts';
import { createTable } from '../tables/table.ts';

/** The base libraries and the incident impact read against them (engine/connectors/clickhouse/tables/base.ts). */
export const statements = (db: { city: string; restricted: string }): string[] => [
  ...BASE_LIBRARY_TABLES.map((table) => createTable(table, db)),
  createTable(incidentBaseImpact, db),
  createTable(incidentBaseImpactExact, db),
];
