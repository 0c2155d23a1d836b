import { Readable } from 'node:stream';
import { CityOpsError } from '../../errors.ts';
import type { ClickHouseClient } from './client.ts';

/**
 * Writes to ClickHouse for the engine: TabSeparated bodies built by the workers (cheap to build and the
 * fastest text format for ClickHouse to parse) and JSONEachRow for small row sets. A failed insert throws
 * SINK_WRITE_FAILED; the engine keeps the batch and retries, and commits nothing meanwhile. Inserts are
 * idempotent for the tables they go to (ReplacingMergeTree with deterministic keys), so a retry after an
 * insert whose answer was lost writes no duplicate that survives FINAL.
 */
export class ClickHouseSink {
  constructor(private readonly client: ClickHouseClient) {}

  /**
   * Inserts TabSeparated text (rows ending in '\n'), as strings or UTF-8 bytes, in the given column order.
   * Returns the row count.
   */
  async insertTsv(
    table: string,
    columns: readonly string[],
    chunks: readonly (string | Uint8Array)[],
  ): Promise<number> {
    const bodies = chunks
      .filter((c) => c.length > 0)
      .map((c) =>
        typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c.buffer, c.byteOffset, c.byteLength),
      );
    const rows = bodies.reduce((n, body) => n + countLines(body), 0);
    if (rows === 0) return 0;
    try {
      await this.client.insert({
        table,
        columns: [...columns] as [string, ...string[]],
        format: 'TabSeparated',
        // A byte stream (not object mode): the client sends it as the body of the TabSeparated insert.
        values: Readable.from(bodies, { objectMode: false }),
      });
    } catch (cause) {
      throw new CityOpsError(
        'SINK_WRITE_FAILED',
        `insert of ${rows} row(s) into ${table} failed: ${(cause as Error).message}`,
        {
          cause,
          hint: 'is ClickHouse up and migrated (city-ops migrate)? the rows are kept and retried',
        },
      );
    }
    return rows;
  }

  /** Inserts objects as JSONEachRow. Returns the row count. */
  async insertRows(table: string, rows: readonly object[]): Promise<number> {
    if (rows.length === 0) return 0;
    try {
      await this.client.insert({ table, format: 'JSONEachRow', values: [...rows] });
    } catch (cause) {
      throw new CityOpsError(
        'SINK_WRITE_FAILED',
        `insert of ${rows.length} row(s) into ${table} failed: ${(cause as Error).message}`,
        {
          cause,
          hint: 'is ClickHouse up and migrated (city-ops migrate)? the rows are kept and retried',
        },
      );
    }
    return rows.length;
  }
}

/** Rows in a TabSeparated body: its '\n' bytes (`Buffer.indexOf` is a native byte search). */
function countLines(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) n++;
  return n;
}
