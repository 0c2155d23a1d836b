import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { exchangeLedger } from '../connectors/clickhouse/tables/exchange.ts';
import { columnNames } from '../connectors/clickhouse/tables/table.ts';
import type { Logger } from '../observability/logger.ts';
import { chainNext, GENESIS, type LedgerEntry, type LedgerRow } from './ledgerChain.ts';

export interface ExchangeLedgerOptions {
  /** The chains' HMAC key (engine/access/ledgerKey.ts). */
  key: Buffer;
  /** How often stream counts are sealed into rows and the rows written (ms, default 10 s). */
  intervalMs?: number;
  /**
   * Where rows that could not be written at `stop` are kept (JSON lines), to be written first by the
   * next start of the same writer. Without it they are lost, and the log says how many.
   */
  spoolPath?: string;
  logger?: Logger;
}

/** A stream's deliveries to one consumer of one class, summed until the next seal. */
type Tally = Omit<LedgerEntry, 'succeeded' | 'fault_code'>;

/**
 * The exchange ledger of one writer (a service): deliveries are recorded as they happen (`record`) or
 * summed per consumer, class and exit for a stream (`count`); every `intervalMs` they become rows of the
 * writer's chain for each consumer and are written to `city.exchange_ledger`. Rows that cannot be written
 * wait, in order, and are written again (the table keeps one of each); nothing is dropped.
 */
export class ExchangeLedger {
  readonly #client: ClickHouseClient;
  readonly #table: string;
  readonly #writer: string;
  readonly #options: ExchangeLedgerOptions;
  readonly #heads = new Map<string, { seq: number; hash: string }>();
  readonly #tallies = new Map<string, Tally>();
  #entries: LedgerEntry[] = [];
  #outbox: LedgerRow[] = [];
  #headsLoaded = false;
  #timer: NodeJS.Timeout | undefined;
  #sealing: Promise<void> | undefined;

  constructor(client: ClickHouseClient, database: string, writer: string, options: ExchangeLedgerOptions) {
    this.#client = client;
    this.#table = `${sqlIdentifier(database)}.${exchangeLedger.name}`;
    this.#writer = writer;
    this.#options = options;
    if (options.spoolPath !== undefined) this.#readSpool(options.spoolPath);
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.#options.intervalMs ?? 10_000);
    this.#timer.unref();
  }

  /** Seals what is pending and writes it (waits for a seal under way first). */
  flush(): Promise<void> {
    const run = (this.#sealing ?? Promise.resolve()).then(() => this.#seal());
    this.#sealing = run.finally(() => {
      if (this.#sealing === run) this.#sealing = undefined;
    });
    return run;
  }

  /**
   * Stops the timer and writes what is pending; what cannot be written is kept in the spool file (whole,
   * replacing it), for the next start.
   */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    if (this.pending === 0) return;
    const spool = this.#options.spoolPath;
    if (spool === undefined) {
      this.#options.logger?.error({ rows: this.pending }, 'exchange ledger rows lost at stop: no spool file');
      return;
    }
    // The sums become entries in memory too: a later flush or stop must not lose them.
    this.#entries.push(...this.#drainTallies());
    const lines = [
      ...this.#outbox.map((row) => JSON.stringify({ row })),
      ...this.#entries.map((entry) => JSON.stringify({ entry })),
    ];
    await mkdir(dirname(spool), { recursive: true });
    await writeFile(`${spool}.tmp`, `${lines.join('\n')}\n`);
    await rename(`${spool}.tmp`, spool);
    this.#options.logger?.warn({ rows: lines.length, spool }, 'exchange ledger rows kept in the spool file');
  }

  /** Rows and stream counts not written yet. */
  get pending(): number {
    return this.#outbox.length + this.#entries.length + this.#tallies.size;
  }

  /** One delivery, as one row. */
  record(entry: LedgerEntry): void {
    this.#entries.push(entry);
  }

  /**
   * A stream's delivery (a frame), summed with the others of its consumer, class and exit; `describe`
   * (the class's provider and the items the consumer gets) is asked once per sum, not per frame.
   */
  count(
    consumer: string,
    resource: string,
    exit: string,
    bytes: number,
    describe: () => { provider: string; items: readonly string[] },
    at = Date.now(),
  ): void {
    const key = `${consumer}\u0000${resource}\u0000${exit}`;
    const tally = this.#tallies.get(key);
    if (tally) {
      tally.records += 1;
      tally.bytes += bytes;
      tally.delivered_to_ms = at;
      return;
    }
    const { provider, items } = describe();
    this.#tallies.set(key, {
      consumer,
      provider,
      resource,
      exit,
      items,
      records: 1,
      bytes,
      event_ms: 0,
      ingest_ms: 0,
      delivered_from_ms: at,
      delivered_to_ms: at,
    });
  }

  async #seal(): Promise<void> {
    try {
      if (!this.#headsLoaded) await this.#loadHeads();
      const entries = [...this.#entries, ...this.#drainTallies()];
      this.#entries = [];
      for (const entry of entries) {
        const row = chainNext(
          this.#writer,
          this.#heads.get(entry.consumer) ?? { seq: 0, hash: GENESIS },
          entry,
          this.#options.key,
        );
        this.#heads.set(entry.consumer, { seq: row.seq, hash: row.hash });
        this.#outbox.push(row);
      }
      if (this.#outbox.length === 0) return;
      const values = this.#outbox.map((row) => {
        const full: Record<string, unknown> = {
          ...row,
          succeeded: row.succeeded ? 1 : 0,
          delivered_at: Math.floor(row.delivered_to_ms / 1000),
        };
        return Object.fromEntries(columnNames(exchangeLedger).map((c) => [c, full[c]]));
      });
      await this.#client.insert({ table: this.#table, format: 'JSONEachRow', values });
      this.#outbox = [];
      if (this.#options.spoolPath !== undefined) await rm(this.#options.spoolPath, { force: true });
    } catch (error) {
      this.#options.logger?.warn(
        { err: error, waiting: this.pending },
        'cannot write the exchange ledger now; its rows wait and are written again',
      );
    }
  }

  /** Each consumer's last row of this writer, so that a restarted writer goes on with its chains. */
  async #loadHeads(): Promise<void> {
    const rows = await selectRows<{ consumer: string; head_seq: string; head_hash: string }>(
      this.#client,
      `SELECT consumer, max(seq) AS head_seq, argMax(hash, seq) AS head_hash FROM ${this.#table}
       WHERE writer = ${sqlString(this.#writer)} GROUP BY consumer`,
    );
    for (const row of rows) this.#heads.set(row.consumer, { seq: Number(row.head_seq), hash: row.head_hash });
    // Rows from the spool were chained after what the table holds: their chains go on from them.
    for (const row of this.#outbox) {
      const head = this.#heads.get(row.consumer);
      if (head === undefined || row.seq > head.seq)
        this.#heads.set(row.consumer, { seq: row.seq, hash: row.hash });
    }
    this.#headsLoaded = true;
  }

  /** The stream sums as entries; they start again from nothing. */
  #drainTallies(): LedgerEntry[] {
    const entries = [...this.#tallies.values()].map((t) => ({ ...t, succeeded: true, fault_code: '' }));
    this.#tallies.clear();
    return entries;
  }

  /** What a previous stop kept: its rows go first, its entries are chained like new ones. */
  #readSpool(spool: string): void {
    if (!existsSync(spool)) return;
    for (const line of readFileSync(spool, 'utf8').split('\n')) {
      if (line === '') continue;
      const kept = JSON.parse(line) as { row?: LedgerRow; entry?: LedgerEntry };
      if (kept.row) this.#outbox.push(kept.row);
      if (kept.entry) this.#entries.push(kept.entry);
    }
  }
}
