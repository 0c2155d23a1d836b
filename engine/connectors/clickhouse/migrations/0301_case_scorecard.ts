import { caseScorecard } from '../tables/cases.ts';
import { createTable } from '../tables/table.ts';

/** Case handling in the sharing assessment (engine/connectors/clickhouse/tables/cases.ts). Idempotent. */
export const statements = (db: { city: string; restricted: string }): string[] => [
  createTable(caseScorecard, db),
];
