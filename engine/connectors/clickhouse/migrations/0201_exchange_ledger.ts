import { exchangeLedger } from '../tables/exchange.ts';
import { createTable } from '../tables/table.ts';

/** The exchange ledger (engine/connectors/clickhouse/tables/exchange.ts). Idempotent. */
export const statements = (db: { city: string; restricted: string }): string[] => [
  createTable(exchangeLedger, db),
];
