import { createHmac } from 'node:crypto';

/** What a ledger row says of one delivery (or of a stream's deliveries over an interval). */
export interface LedgerEntry {
  consumer: string;
  provider: string;
  resource: string;
  /** `websocket`, `history`, `webhook` or `database`. */
  exit: string;
  items: readonly string[];
  records: number;
  bytes: number;
  /** The newest event time the delivery carries (epoch ms; 0 when the exit does not know it). */
  event_ms: number;
  /** When the data entered the exchange (epoch ms; 0 when the exit does not know it). */
  ingest_ms: number;
  delivered_from_ms: number;
  delivered_to_ms: number;
  succeeded: boolean;
  /** Empty when it succeeded; else what failed, e.g. `HTTP_503`, `CLICKHOUSE_UNAVAILABLE`. */
  fault_code: string;
}

/** A ledger row: the entry, its place in its writer's chain for that consumer, and the links. */
export interface LedgerRow extends LedgerEntry {
  writer: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

/** The `prev_hash` of a chain's first row. */
export const GENESIS = '0'.repeat(64);

/**
 * The hash of a row: HMAC-SHA-256, with the ledger's key, over its fields in a fixed order as JSON strings
 * (so the value read back from ClickHouse, where 64-bit integers arrive as strings, hashes the same as the
 * value written). The key is kept outside ClickHouse: whoever can rewrite the table but cannot read the
 * key cannot make an altered row, or the rows after it, verify again.
 */
export function rowHash(row: Omit<LedgerRow, 'hash'>, key: Buffer): string {
  const fields = [
    row.writer,
    row.consumer,
    row.seq,
    row.provider,
    row.resource,
    row.exit,
    row.records,
    row.bytes,
    row.event_ms,
    row.ingest_ms,
    row.delivered_from_ms,
    row.delivered_to_ms,
    row.succeeded ? 1 : 0,
    row.fault_code,
    row.prev_hash,
  ].map(String);
  return createHmac('sha256', key)
    .update(JSON.stringify([...fields, [...row.items]]))
    .digest('hex');
}

/** The next row of a chain whose last row has `seq` and `hash` (0 and GENESIS for a new chain). */
export function chainNext(
  writer: string,
  head: { seq: number; hash: string },
  entry: LedgerEntry,
  key: Buffer,
): LedgerRow {
  const row = { ...entry, items: [...entry.items], writer, seq: head.seq + 1, prev_hash: head.hash };
  return { ...row, hash: rowHash(row, key) };
}

/**
 * What is wrong with one chain's rows (ordered by seq): a gap or repeat in `seq`, a `prev_hash` that is not
 * the previous row's hash, or a hash that does not match the row. Empty when the chain verifies.
 */
export function chainProblems(rows: readonly LedgerRow[], key: Buffer): string[] {
  const problems: string[] = [];
  let previous = { seq: 0, hash: GENESIS };
  for (const row of rows) {
    const where = `${row.writer}/${row.consumer} seq ${row.seq}`;
    if (row.seq !== previous.seq + 1)
      problems.push(`${where}: expected seq ${previous.seq + 1} (a row is missing or repeated)`);
    if (row.prev_hash !== previous.hash)
      problems.push(`${where}: prev_hash is not the hash of seq ${previous.seq}`);
    if (rowHash(row, key) !== row.hash) problems.push(`${where}: the row does not match its hash (altered)`);
    previous = { seq: row.seq, hash: row.hash };
  }
  return problems;
}
