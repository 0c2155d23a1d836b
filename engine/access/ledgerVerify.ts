import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { exchangeLedger } from '../connectors/clickhouse/tables/exchange.ts';
import { chainProblems, type LedgerRow } from './ledgerChain.ts';

const NUMBERS = ['seq', 'records', 'bytes', 'event_ms', 'ingest_ms', 'delivered_from_ms', 'delivered_to_ms'];

export interface LedgerVerification {
  chains: number;
  rows: number;
  problems: string[];
}

/**
 * Verifies every chain of the ledger (or one consumer's): each writer's rows for a consumer, in `seq`
 * order, must link by hashes from the first. Reads one chain at a time.
 */
export async function verifyLedger(
  client: ClickHouseClient,
  database: string,
  key: Buffer,
  consumer?: string,
): Promise<LedgerVerification> {
  const table = `${sqlIdentifier(database)}.${exchangeLedger.name}`;
  const only = consumer === undefined ? '' : `WHERE consumer = ${sqlString(consumer)}`;
  const chains = await selectRows<{ writer: string; consumer: string }>(
    client,
    `SELECT DISTINCT writer, consumer FROM ${table} ${only} ORDER BY writer, consumer`,
  );
  const result: LedgerVerification = { chains: chains.length, rows: 0, problems: [] };
  for (const chain of chains) {
    const raw = await selectRows<Record<string, unknown>>(
      client,
      `SELECT * FROM ${table} FINAL
       WHERE writer = ${sqlString(chain.writer)} AND consumer = ${sqlString(chain.consumer)} ORDER BY seq`,
    );
    const rows = raw.map((r) => {
      const row: Record<string, unknown> = { ...r, succeeded: r['succeeded'] === 1 };
      for (const n of NUMBERS) row[n] = Number(r[n]);
      return row as unknown as LedgerRow;
    });
    result.rows += rows.length;
    result.problems.push(...chainProblems(rows, key));
  }
  return result;
}
