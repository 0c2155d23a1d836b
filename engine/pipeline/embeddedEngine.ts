import { Piscina } from 'piscina';
import type { SourceMessage } from '../connectors/kafka/source.ts';
import type { AggregateMessage } from '../contract/aggregates.ts';
import { STREAM_NAMES, type StreamName, streamTopic } from '../contract/topics.ts';
import type { Logger } from '../observability/logger.ts';
import type { BatchResult } from './batchWorker.ts';
import type { EngineOptions } from './engineOptions.ts';
import {
  liveMessages,
  PartitionPipeline,
  type PipelineDrain,
  type WindowPartialRow,
} from './partitionPipeline.ts';
import { packTask } from './streamEngine.ts';

/** Partitions per stream of the in-process exchange. */
const PARTITIONS = 6;
/** Final windows kept in memory (about an hour of a city at the default rate). */
const MAX_WINDOW_ROWS = 50_000;

/**
 * The quick start's **embedded mode**, for machines where Kafka or ClickHouse cannot run: an in-process
 * exchange with the same contract (messages keyed and partitioned like the real topics) feeding the same
 * operator graph (the same piscina workers, the same per-partition windows) as `StreamEngine`. What is off:
 * no durability (a restart forgets everything), no ClickHouse (final windows are kept in memory, the map's
 * history replay is unavailable), no joined tables, one process only.
 *
 * Never used by the tests of the real path.
 */
export class EmbeddedEngine {
  readonly #options: EngineOptions;
  readonly #log: Logger;
  readonly #onAggregate: (message: AggregateMessage) => void;
  readonly #queues = new Map<string, SourceMessage[]>();
  readonly #offsets = new Map<string, number>();
  readonly #pipelines = new Map<string, PartitionPipeline>();
  readonly #windows: WindowPartialRow[] = [];
  readonly #pool: Piscina;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #accepted = 0;
  #deadLettered = 0;

  constructor(options: EngineOptions, logger: Logger, onAggregate: (message: AggregateMessage) => void) {
    this.#options = options;
    this.#log = logger;
    this.#onAggregate = onAggregate;
    this.#pool = new Piscina({
      filename: new URL('./batchWorkerEntry.mjs', import.meta.url).href,
      minThreads: options.workers,
      maxThreads: options.workers,
    });
    const revisionBase = Math.floor(Date.now() / 1000) * 1_000_000;
    for (const stream of STREAM_NAMES) {
      for (let p = 0; p < PARTITIONS; p++) {
        this.#pipelines.set(
          `${stream}:${p}`,
          new PartitionPipeline(stream, streamTopic(stream), p, options, undefined, revisionBase),
        );
        this.#queues.set(`${stream}:${p}`, []);
      }
    }
  }

  /** Publishes one record to the in-process exchange (the key picks the partition, as Kafka's would). */
  publish(stream: StreamName, key: string, value: string, timestamp = Date.now()): void {
    const partition = hash(key) % PARTITIONS;
    const id = `${stream}:${partition}`;
    const offset = this.#offsets.get(id) ?? 0;
    this.#offsets.set(id, offset + 1);
    this.#queues.get(id)!.push({
      topic: streamTopic(stream),
      partition,
      offset,
      timestamp,
      key: Buffer.from(key),
      value: value.length === 0 ? null : Buffer.from(value),
      generation: 1,
    });
  }

  /** Starts processing every `flushIntervalMs`. */
  start(): void {
    this.#timer = setInterval(() => void this.#tick(), this.#options.flushIntervalMs);
  }

  /** Final windows computed so far (newest last), e.g. for a summary. */
  windows(): readonly WindowPartialRow[] {
    return this.#windows;
  }

  get totals(): { accepted: number; deadLettered: number } {
    return { accepted: this.#accepted, deadLettered: this.#deadLettered };
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    while (this.#busy) await new Promise((r) => setTimeout(r, 20));
    await this.#pool.destroy();
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const work: Array<Promise<void>> = [];
      for (const [id, queue] of this.#queues) {
        if (queue.length === 0) continue;
        const messages = queue.splice(0, queue.length);
        const pipeline = this.#pipelines.get(id)!;
        work.push(this.#process(pipeline, messages));
      }
      await Promise.all(work);
      this.#advanceIdle();
      for (const pipeline of this.#pipelines.values()) this.#emit(pipeline.drain());
    } catch (error) {
      this.#log.error({ err: error }, 'embedded engine tick failed');
    } finally {
      this.#busy = false;
    }
  }

  async #process(pipeline: PartitionPipeline, messages: SourceMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += this.#options.batchSize) {
      const task = packTask(
        pipeline.stream,
        pipeline.topic,
        pipeline.partition,
        messages.slice(i, i + this.#options.batchSize),
      );
      const result = (await this.#pool.run(task, {
        transferList: [task.payload.buffer as ArrayBuffer, task.keyPayload.buffer as ArrayBuffer],
      })) as BatchResult;
      pipeline.apply(result);
      this.#accepted += result.accepted.count;
      this.#deadLettered += result.deadLetters.length;
    }
  }

  /** Same rule as the real engine: a silent partition follows the slowest active one. */
  #advanceIdle(): void {
    const now = Date.now();
    const pipelines = [...this.#pipelines.values()];
    const active = pipelines.filter(
      (p) => now - p.lastActivityAt < this.#options.idleTimeoutMs && Number.isFinite(p.watermark),
    );
    if (active.length === 0) return;
    const target = Math.min(...active.map((p) => p.watermark));
    for (const p of pipelines)
      if (now - p.lastActivityAt >= this.#options.idleTimeoutMs && target > p.watermark)
        p.advanceWatermark(target);
  }

  #emit(drain: PipelineDrain): void {
    for (const row of drain.windowRows) this.#windows.push(row);
    if (this.#windows.length > MAX_WINDOW_ROWS)
      this.#windows.splice(0, this.#windows.length - MAX_WINDOW_ROWS);
    const messages = liveMessages(drain, Date.now());
    for (const message of messages) this.#onAggregate(message);
  }
}

/** FNV-1a: a stable hash so one key always lands in one partition. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
