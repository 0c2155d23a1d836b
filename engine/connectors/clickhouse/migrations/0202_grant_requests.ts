import { grantRequests } from '../tables/exchange.ts';
import { createTable } from '../tables/table.ts';

/** Requests for conditional classes and their answers (engine/connectors/clickhouse/tables/exchange.ts). */
export const statements = (db: { city: string; restricted: string }): string[] => [
  createTable(grantRequests, db),
];
