import { sharingScorecard } from '../tables/exchange.ts';
import { createTable } from '../tables/table.ts';

/** The sharing assessment's mart (engine/connectors/clickhouse/tables/exchange.ts). Idempotent. */
export const statements = (db: { city: string; restricted: string }): string[] => [
  createTable(sharingScorecard, db),
];
