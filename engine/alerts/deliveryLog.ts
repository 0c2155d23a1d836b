import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier } from '../connectors/clickhouse/sqlLiteral.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertCloudEvent } from './alertEvent.ts';

/** States of one delivery (an alert event to one endpoint). */
export type DeliveryStatus = 'sent' | 'retrying' | 'acknowledged' | 'failed';

/** One row of `alert_deliveries`: a state of one attempt. */
export interface DeliveryRow {
  event_id: string;
  alert_id: string;
  event_type: string;
  rule: string;
  severity: string;
  district: string;
  department: string;
  endpoint: string;
  attempt: number;
  status: DeliveryStatus;
  http_status: number;
  error: string;
  /** Wall clock, epoch ms. */
  at_ms: number;
  next_attempt_at_ms: number | null;
  latency_ms: number;
}

/** One row of `alert_dead_letters`. */
export interface DeadLetterRow {
  event_id: string;
  alert_id: string;
  event_type: string;
  rule: string;
  department: string;
  endpoint: string;
  attempts: number;
  last_http_status: number;
  last_error: string;
  first_attempt_at_ms: number;
  at_ms: number;
  payload: string;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Writes delivery states, dead letters and alert events to ClickHouse (migration 0100) in batches: rows
 * are buffered and flushed every `flushMs` (default 500) or at 2000 rows. This is the queryable record, not
 * the source of truth (that is the acknowledgement topic): a failed insert is retried with the next flush,
 * and past `maxBuffered` rows the oldest are dropped and counted in `dropped`, so ClickHouse trouble never
 * stalls deliveries. Rows repeated after a restart collapse (ReplacingMergeTree).
 *
 * @example
 * const log = new DeliveryLog(clickhouse, 'city', logger);
 * log.delivery({ ...row, status: 'acknowledged' });
 */
export class DeliveryLog {
  private deliveries: Record<string, unknown>[] = [];
  private deadLetters: Record<string, unknown>[] = [];
  private alerts: Record<string, unknown>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;
  failures = 0;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    private readonly logger: Logger,
    private readonly flushMs = 500,
    private readonly maxBuffered = 200_000,
  ) {
    this.database = sqlIdentifier(database);
  }

  private readonly database: string;

  delivery(row: DeliveryRow): void {
    const { at_ms, next_attempt_at_ms, ...rest } = row;
    this.push(this.deliveries, {
      ...rest,
      at: seconds(at_ms),
      at_ms,
      next_attempt_at: next_attempt_at_ms === null ? null : seconds(next_attempt_at_ms),
    });
  }

  deadLetter(row: DeadLetterRow): void {
    const { first_attempt_at_ms, at_ms, ...rest } = row;
    this.push(this.deadLetters, {
      ...rest,
      first_attempt_at: seconds(first_attempt_at_ms),
      at: seconds(at_ms),
    });
  }

  alert(event: AlertCloudEvent, payload: string, publishedAtMs: number): void {
    const d = event.data;
    this.push(this.alerts, {
      event_id: event.id,
      alert_id: d.alert_id,
      type: event.type,
      rule: d.rule,
      severity: d.severity,
      indicator: d.indicator,
      district: d.district ?? '',
      cell: d.cell ?? '',
      category: d.category ?? '',
      title_en: d.title_en,
      title_zh: d.title_zh,
      value: d.value,
      threshold: d.threshold,
      started_at: seconds(Date.parse(d.started_at)),
      resolved_at: d.resolved_at ? seconds(Date.parse(d.resolved_at)) : null,
      event_time: seconds(Date.parse(event.time)),
      published_at: seconds(publishedAtMs),
      payload,
    });
  }

  private push(buffer: Record<string, unknown>[], row: Record<string, unknown>): void {
    buffer.push(row);
    if (buffer.length > this.maxBuffered) {
      buffer.splice(0, buffer.length - this.maxBuffered);
      this.dropped += 1;
    }
    if (buffer.length >= 2000) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Writes what is buffered now; resolves when done (errors are logged, rows kept for the next flush). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // A loop, not one wait: another flush waiting on the same write may start the next one first, and
    // this one (close's) must then wait for that too, or its caller reads before those rows land.
    while (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private async write(): Promise<void> {
    const batches: Array<[string, Record<string, unknown>[], (rows: Record<string, unknown>[]) => void]> = [
      ['alert_deliveries', this.deliveries, (rows) => this.deliveries.unshift(...rows)],
      ['alert_dead_letters', this.deadLetters, (rows) => this.deadLetters.unshift(...rows)],
      ['alerts', this.alerts, (rows) => this.alerts.unshift(...rows)],
    ];
    this.deliveries = [];
    this.deadLetters = [];
    this.alerts = [];
    for (const [table, rows, restore] of batches) {
      if (rows.length === 0) continue;
      try {
        await this.client.insert({ table: `${this.database}.${table}`, format: 'JSONEachRow', values: rows });
      } catch (error) {
        this.failures += 1;
        restore(rows);
        this.logger.warn(
          { table: `${this.database}.${table}`, rows: rows.length, error: String(error) },
          'delivery log insert failed; rows kept for the next flush',
        );
        this.timer ??= setTimeout(() => void this.flush(), Math.max(this.flushMs, 2_000));
      }
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
