import type { Environment } from '../config/environment.ts';
import type { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { tsvField } from '../connectors/clickhouse/sqlLiteral.ts';
import type { KafkaSink, SinkMessage } from '../connectors/kafka/sink.ts';
import { internalTopic, type StreamName, streamTopic } from '../contract/topics.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { PipelineDrain } from './partitionPipeline.ts';
import { TSV_COLUMNS } from './tsvColumns.ts';

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
    const city = this.#env.CLICKHOUSE_DATABASE;
    const restricted = this.#env.CLICKHOUSE_RESTRICTED_DATABASE;
    const now = Math.floor(Date.now() / 1000);
    const atomic: Record<StreamName, Uint8Array[]> = { transport: [], events: [], population: [] };
    const eventsRaw: Uint8Array[] = [];
    const lateRows: string[] = [];
    let deadLetters = '';
    let deadLettersRaw = '';
    let windows = '';
    const deadLetterMessages: SinkMessage[] = [];
    for (const d of drains) {
      atomic[d.stream].push(...d.atomicTsv);
      eventsRaw.push(...d.restrictedTsv);
      if (d.lateTsv) lateRows.push(d.lateTsv);
      const topic = streamTopic(d.stream, this.#env.CITY_OPS_TOPIC_PREFIX);
      for (const l of d.deadLetters) {
        deadLetters += `${tsvField(topic)}\t${d.partition}\t${l.offset}\t${l.reason}\t${tsvField(l.detail)}\t${tsvField(l.key)}\t${tsvField(l.payload)}\t${l.bytes}\t${Math.floor(l.messageTs / 1000)}\t${now}\n`;
        deadLettersRaw += `${tsvField(topic)}\t${d.partition}\t${l.offset}\t${l.reason}\t${tsvField(l.key)}\t${tsvField(l.rawPayload)}\t${l.bytes}\t${now}\n`;
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
        windows += `${w.stream}\t${w.district}\t${w.window_start / 1000}\t${w.window_end / 1000}\t${w.source_partition}\t${w.revision}\t${w.events}\t${w.distinct_keys}\t${w.speed_sum}\t${w.speed_count}\t${w.opened}\t${w.closed}\t${w.severe}\t${w.present}\t${w.inflow}\t${w.outflow}\t${now}\n`;
      }
    }
    const written = await Promise.all([
      writer.insertTsv(`${city}.transport_atomic`, TSV_COLUMNS.transport, atomic.transport),
      writer.insertTsv(`${city}.events_atomic`, TSV_COLUMNS.events, atomic.events),
      writer.insertTsv(`${city}.population_atomic`, TSV_COLUMNS.population, atomic.population),
      writer.insertTsv(`${restricted}.events_raw`, TSV_COLUMNS.eventsRaw, eventsRaw),
      writer.insertTsv(`${city}.late_events`, TSV_COLUMNS.late, lateRows),
      writer.insertTsv(`${city}.dead_letters`, TSV_COLUMNS.deadLetters, [deadLetters]),
      writer.insertTsv(`${restricted}.dead_letters_raw`, TSV_COLUMNS.deadLettersRaw, [deadLettersRaw]),
      writer.insertTsv(`${city}.window_partials`, TSV_COLUMNS.windows, [windows]),
      // KafkaSink gives up after 30 s and replaces a producer whose send hangs (see KafkaSink.send).
      this.#sink
        .send(internalTopic('deadLetters', this.#env.CITY_OPS_TOPIC_PREFIX), deadLetterMessages)
        .then(() => 0),
    ]);
    const tables = [
      'transport_atomic',
      'events_atomic',
      'population_atomic',
      'events_raw',
      'late_events',
      'dead_letters',
      'dead_letters_raw',
      'window_partials',
    ];
    tables.forEach((table, i) => {
      if (written[i]) this.#metrics.rowsWritten.inc({ table }, written[i]);
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
