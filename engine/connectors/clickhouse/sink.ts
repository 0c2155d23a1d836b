import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { CityOpsError } from '../../errors.ts';
import type { ClickHouseClient } from './client.ts';
import type { RowBinaryChunk } from './rowBinary.ts';

/**
 * Writes to ClickHouse for the engine: RowBinary bodies built by the workers (the atomic layer),
 * TabSeparated text for the rows the main thread builds, and JSONEachRow for small row sets. A failed insert throws
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
      throw insertFailed(table, rows, cause);
    }
    return rows;
  }

  /** Inserts RowBinary rows (see RowBinaryWriter) in the given column order. Returns the row count. */
  async insertRowBinary(
    table: string,
    columns: readonly string[],
    chunks: readonly RowBinaryChunk[],
  ): Promise<number> {
    const bodies = chunks.filter((c) => c.rows > 0);
    const rows = bodies.reduce((n, c) => n + c.rows, 0);
    if (rows === 0) return 0;
    try {
      // The client's insert() takes text and JSON formats only; exec() sends any body with its statement.
      const { stream } = await this.client.exec({
        query: `INSERT INTO ${table} (${columns.join(', ')}) FORMAT RowBinary`,
        values: Readable.from(
          bodies.map((c) => Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength)),
          { objectMode: false },
        ),
      });
      stream.resume(); // an INSERT answers nothing; the socket goes back to the pool once it is read
      await finished(stream);
    } catch (cause) {
      throw insertFailed(table, rows, cause);
    }
    return rows;
  }

  /** Inserts objects as JSONEachRow. Returns the row count. */
  async insertRows(table: string, rows: readonly object[]): Promise<number> {
    if (rows.length === 0) return 0;
    try {
      await this.client.insert({ table, format: 'JSONEachRow', values: [...rows] });
    } catch (cause) {
      throw insertFailed(table, rows.length, cause);
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

function insertFailed(table: string, rows: number, cause: unknown): CityOpsError {
  return new CityOpsError(
    'SINK_WRITE_FAILED',
    `insert of ${rows} row(s) into ${table} failed: ${(cause as Error).message}`,
    {
      cause,
      hint: 'is ClickHouse up and migrated (city-ops migrate)? the rows are kept and retried',
    },
  );
}
