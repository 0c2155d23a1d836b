import { grants } from '../tables/exchange.ts';
import { createTable } from '../tables/table.ts';

/** The exchange's records (engine/connectors/clickhouse/tables/exchange.ts): grants. Idempotent. */
export const statements = (db: { city: string; restricted: string }): string[] => [createTable(grants, db)];
