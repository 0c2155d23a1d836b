import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { caseEventRow, caseEvents } from '../connectors/clickhouse/tables/cases.ts';
import type { Logger } from '../observability/logger.ts';
import type { CaseEvent } from './caseModel.ts';

/**
 * The case events on their way to `city.case_events`: kept until a write succeeds, so a ClickHouse outage
 * delays them and loses none (the table's key collapses what is written twice). Without a ClickHouse,
 * the cases live in Kafka only and nothing is kept.
 */
export class CaseRows {
  #rows: Record<string, unknown>[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly clickhouse: { client: ClickHouseClient; database: string } | undefined,
    private readonly logger: Logger,
  ) {}

  add(events: readonly CaseEvent[]): void {
    if (this.clickhouse) this.#rows = this.#rows.concat(events.map(caseEventRow));
  }

  /** Writes what is kept; a failure keeps it for the next flush. */
  flush(): Promise<void> {
    const ch = this.clickhouse;
    if (!ch || this.#rows.length === 0) return this.#flushing ?? Promise.resolve();
    this.#flushing ??= (async () => {
      const rows = this.#rows;
      this.#rows = [];
      try {
        await ch.client.insert({
          table: `${ch.database}.${caseEvents.name}`,
          values: rows,
          format: 'JSONEachRow',
        });
      } catch (error) {
        this.#rows = rows.concat(this.#rows);
        this.logger.warn({ err: error, rows: rows.length }, 'case events not written to ClickHouse yet');
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }
}
