import type { Environment } from '../config/environment.ts';
import type { RowBinaryChunk } from '../connectors/clickhouse/rowBinary.ts';
import type { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import {
  eventsAtomic,
  eventsRaw,
  populationAtomic,
  transportAtomic,
} from '../connectors/clickhouse/tables/atomic.ts';
import {
  deadLetterRawRow,
  deadLetterRow,
  deadLetters,
  deadLettersRaw,
  lateEvents,
  windowPartialRow,
  windowPartials,
} from '../connectors/clickhouse/tables/layers.ts';
import { columnNames, qualified, type TableDefinition } from '../connectors/clickhouse/tables/table.ts';
import type { KafkaSink, SinkMessage } from '../connectors/kafka/sink.ts';
import { internalTopic, type StreamName, streamTopic } from '../contract/topics.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { PipelineDrain } from './partitionPipeline.ts';

/**
 * Writes what the partitions' graphs drained: the atomic layer of each stream, the restricted raw events,
 * late events, dead letters (masked, raw, and on the dead-letters topic) and the window partials, one
 * insert per table for all the drains of a flush. Every insert is idempotent (deterministic keys,
 * ReplacingMergeTree), so a flush that failed half-way is simply made again.
 */
export class LayerWriter {
  readonly #env: Environment;
  readonly #writer: ClickHouseSink;
  readonly #sink: KafkaSink;
  readonly #metrics: EngineMetrics;

  constructor(env: Environment, writer: ClickHouseSink, sink: KafkaSink, metrics: EngineMetrics) {
    this.#env = env;
    this.#writer = writer;
    this.#sink = sink;
    this.#metrics = metrics;
  }

  /** Writes every layer of `drains`; resolves with the rows written and the late events among them. */
  async write(drains: readonly PipelineDrain[]): Promise<{ written: number; late: number }> {
    let late = 0;
    const writer = this.#writer;
    const now = Math.floor(Date.now() / 1000);
    const atomic: Record<StreamName, RowBinaryChunk[]> = { transport: [], events: [], population: [] };
    const rawEvents: RowBinaryChunk[] = [];
    const lateRows: string[] = [];
    let deadLetterRows = '';
    let deadLetterRawRows = '';
    let windows = '';
    const deadLetterMessages: SinkMessage[] = [];
    for (const d of drains) {
      atomic[d.stream].push(...d.atomic);
      rawEvents.push(...d.restricted);
      if (d.lateTsv) lateRows.push(d.lateTsv);
      const topic = streamTopic(d.stream, this.#env.CITY_OPS_TOPIC_PREFIX);
      for (const l of d.deadLetters) {
        deadLetterRows += deadLetterRow(topic, d.partition, l, now);
        deadLetterRawRows += deadLetterRawRow(topic, d.partition, l, now);
        deadLetterMessages.push({
          key: `${topic}:${d.partition}:${l.offset}`,
          value: JSON.stringify({
            topic,
            partition: d.partition,
            offset: l.offset,
            reason: l.reason,
            detail: l.detail,
            key: l.key,
            payload: l.payload,
            bytes: l.bytes,
            message_ts: l.messageTs,
          }),
        });
      }
      for (const w of d.windowRows) {
        windows += windowPartialRow(w, now);
      }
    }
    const db = { city: this.#env.CLICKHOUSE_DATABASE, restricted: this.#env.CLICKHOUSE_RESTRICTED_DATABASE };
    // The workers' rows are RowBinary; the few the main thread builds here are TabSeparated text.
    const binary: [TableDefinition, RowBinaryChunk[]][] = [
      [transportAtomic, atomic.transport],
      [eventsAtomic, atomic.events],
      [populationAtomic, atomic.population],
      [eventsRaw, rawEvents],
    ];
    const text: [TableDefinition, string[]][] = [
      [lateEvents, lateRows],
      [deadLetters, [deadLetterRows]],
      [deadLettersRaw, [deadLetterRawRows]],
      [windowPartials, [windows]],
    ];
    const inserts = [...binary, ...text];
    const written = await Promise.all([
      ...binary.map(([table, chunks]) =>
        writer.insertRowBinary(qualified(table, db), columnNames(table), chunks),
      ),
      ...text.map(([table, bodies]) => writer.insertTsv(qualified(table, db), columnNames(table), bodies)),
      // KafkaSink gives up after 30 s and replaces a producer whose send hangs (see KafkaSink.send).
      this.#sink
        .send(internalTopic('deadLetters', this.#env.CITY_OPS_TOPIC_PREFIX), deadLetterMessages)
        .then(() => 0),
    ]);
    inserts.forEach(([table], i) => {
      if (written[i]) this.#metrics.rowsWritten.inc({ table: table.name }, written[i]);
    });
    for (const d of drains) {
      if (d.lateCount > 0) {
        this.#metrics.late.inc({ stream: d.stream }, d.lateCount);
        late += d.lateCount;
      }
      if (d.windowRows.length > 0) this.#metrics.windowsClosed.inc({ stream: d.stream }, d.windowRows.length);
    }
    return { written: written.reduce((a, b) => a + b, 0), late };
  }
}
