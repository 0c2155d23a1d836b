import { type ClickHouseClient, selectCompact } from '../connectors/clickhouse/client.ts';
import { sqlNumber } from '../connectors/clickhouse/sqlLiteral.ts';

/**
 * The seconds up to this many before the newest `written_at` already read are counted again, and read again
 * where their counts changed: a row written in the same second as the last read, or by a writer whose clock
 * lags another's by less than this, is not missed.
 */
const REREAD_S = 60;

/** What to read of a table since its last read: a predicate on its rows, and the call that marks them read. */
export interface Pending {
  /** `1` the first time (everything), then the rows of the seconds whose counts changed. */
  readonly where: string;
  readonly first: boolean;
  /** Call once the rows are applied: until then, a failed read is tried again next time. */
  done(): void;
}

/**
 * Reads a versioned table forward by its `written_at` (docs/base.md): counts the rows per second over the
 * last REREAD_S seconds already read (one column, cheap) and names the seconds whose counts changed. Rows
 * of those seconds are read again whole, so the reader's apply must be idempotent.
 */
export class WrittenSince {
  readonly #table: string;
  #writtenAt = -1;
  /** Rows per `written_at` second, as last counted, for the seconds the next read looks at. */
  readonly #seen = new Map<number, number>();

  constructor(qualifiedTable: string) {
    this.#table = qualifiedTable;
  }

  async pending(client: ClickHouseClient): Promise<Pending | undefined> {
    const first = this.#writtenAt < 0;
    const counts = await selectCompact<[number, string]>(
      client,
      `SELECT toUInt32(written_at) AS s, toString(count()) FROM ${this.#table}
        WHERE written_at >= toDateTime(${sqlNumber(first ? 0 : this.#writtenAt - REREAD_S)}) GROUP BY s`,
    );
    const stale = counts.filter(([second, n]) => this.#seen.get(second) !== Number(n));
    if (stale.length === 0) return undefined;
    return {
      first,
      where: first ? '1' : `toUInt32(written_at) IN (${stale.map(([second]) => second).join(', ')})`,
      // A row written between the count and the read makes its second's count differ next time: it is
      // read then.
      done: () => {
        for (const [second, n] of stale) this.#seen.set(second, Number(n));
        for (const [second] of counts) this.#writtenAt = Math.max(this.#writtenAt, second);
        for (const second of this.#seen.keys())
          if (second < this.#writtenAt - REREAD_S) this.#seen.delete(second);
      },
    };
  }
}
