import type { Environment } from '../config/environment.ts';
import type { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { engineProgress, engineProgressRow } from '../connectors/clickhouse/tables/layers.ts';
import { columnNames } from '../connectors/clickhouse/tables/table.ts';
import { type KafkaSource, keyOf, type OffsetToCommit } from '../connectors/kafka/source.ts';
import { streamTopic } from '../contract/topics.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { PipelineDrain } from './partitionPipeline.ts';

/**
 * Commits each partition's offset with the metadata that lets a restart re-derive its state (see
 * `CommitMetadata`), once what the offset covers is written; then records the progress in
 * `city.engine_progress`. A commit that would say nothing new is skipped.
 */
export class Committer {
  readonly #env: Environment;
  readonly #writer: ClickHouseSink;
  readonly #metrics: EngineMetrics;
  readonly #instanceId: string;
  /** What was last committed per partition, to skip commits and progress rows that would change nothing. */
  readonly #committed = new Map<string, string>();

  constructor(env: Environment, writer: ClickHouseSink, metrics: EngineMetrics, instanceId: string) {
    this.#env = env;
    this.#writer = writer;
    this.#metrics = metrics;
    this.#instanceId = instanceId;
  }

  /** The partition moved (revoked) or its commit was refused: its next commit is made whatever it says. */
  forget(key: string): void {
    this.#committed.delete(key);
  }

  /** Commits the newest commit point of each partition among `drains`, all already written. */
  async commit(drains: readonly PipelineDrain[], source: KafkaSource): Promise<void> {
    const latest = new Map<string, PipelineDrain>();
    for (const d of drains) if (d.commit) latest.set(`${d.stream}:${d.partition}`, d);
    const offsets: OffsetToCommit[] = [];
    const states = new Map<string, string>();
    let progress = '';
    const now = Math.floor(Date.now() / 1000);
    for (const d of latest.values()) {
      const topic = streamTopic(d.stream, this.#env.CITY_OPS_TOPIC_PREFIX);
      const state = `${d.commit!.offset}:${JSON.stringify(d.commit!.metadata)}:${d.watermark}`;
      if (this.#committed.get(`${topic}:${d.partition}`) === state) continue; // nothing new to say
      states.set(`${topic}:${d.partition}`, state);
      offsets.push({
        topic,
        partition: d.partition,
        offset: d.commit!.offset,
        metadata: JSON.stringify(d.commit!.metadata),
      });
      const wm = Number.isFinite(d.watermark) ? Math.max(0, d.watermark) : 0;
      progress += engineProgressRow(
        topic,
        d.stream,
        d.partition,
        d.commit!.offset,
        wm,
        this.#instanceId,
        now,
      );
      this.#metrics.watermark.set({ topic, partition: String(d.partition) }, wm / 1000);
      const high = source.highWatermark(topic, d.partition);
      if (high >= 0 && d.commit)
        this.#metrics.lag.set({ topic, partition: String(d.partition) }, Math.max(0, high - d.commit.offset));
    }
    if (offsets.length === 0) return;
    const stored = await source.commit(offsets);
    // After the commit: progress says "windows up to this watermark are written", which is true by now.
    await this.#writer.insertTsv(
      `${this.#env.CLICKHOUSE_DATABASE}.${engineProgress.name}`,
      columnNames(engineProgress),
      [progress],
    );
    // Skipped next time unless the coordinator refuses it (onCommitFailed) or the partition moves (revoke).
    for (const p of stored) this.#committed.set(keyOf(p), states.get(keyOf(p))!);
  }
}
