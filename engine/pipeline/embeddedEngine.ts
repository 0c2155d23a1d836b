import type { WindowPartialRow } from '../connectors/clickhouse/tables/layers.ts';
import type { SourceMessage } from '../connectors/kafka/source.ts';
import type { AggregateMessage } from '../contract/aggregates.ts';
import { STREAM_NAMES, type StreamName, streamTopic } from '../contract/topics.ts';
import type { Logger } from '../observability/logger.ts';
import type { EngineOptions } from './engineOptions.ts';
import { idleTarget, movable } from './idlePolicy.ts';
import { packTask } from './packTask.ts';
import { liveMessages, type PipelineDrain } from './partitionPipeline.ts';
import type { PartitionStatus } from './partitionWorker.ts';
import { PartitionWorkers } from './partitionWorkers.ts';

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
  /** The partitions' state as of their workers' last replies. */
  readonly #partitions = new Map<string, EmbeddedPartition>();
  readonly #windows: WindowPartialRow[] = [];
  readonly #workers: PartitionWorkers;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #accepted = 0;
  #deadLettered = 0;

  constructor(options: EngineOptions, logger: Logger, onAggregate: (message: AggregateMessage) => void) {
    this.#options = options;
    this.#log = logger;
    this.#onAggregate = onAggregate;
    const revisionBase = Math.floor(Date.now() / 1000) * 1_000_000;
    this.#workers = new PartitionWorkers(options.workers, options, revisionBase);
    for (const stream of STREAM_NAMES) {
      for (let p = 0; p < PARTITIONS; p++) {
        const key = `${stream}:${p}`;
        const partition: EmbeddedPartition = {
          key,
          stream,
          partition: p,
          status: {
            watermark: Number.NEGATIVE_INFINITY,
            maxEventTime: Number.NEGATIVE_INFINITY,
            nextOffset: undefined,
            bufferedBytes: 0,
          },
          lastActivityAt: Date.now(),
          inflightBatches: 0,
        };
        this.#partitions.set(key, partition);
        this.#workers
          .open(key, { stream, topic: streamTopic(stream), partition: p, restored: undefined })
          .catch((error: unknown) =>
            this.#log.error({ err: error, partition: key }, 'opening a partition failed'),
          );
        this.#queues.set(key, []);
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
    await this.#workers.destroy();
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const work: Array<Promise<void>> = [];
      for (const [id, queue] of this.#queues) {
        if (queue.length === 0) continue;
        work.push(this.#process(this.#partitions.get(id)!, queue.splice(0, queue.length)));
      }
      // Settled one by one: a partition that failed does not hold back the others' output, and no tick starts
      // while a batch of this one is still on its way (which would send the next ones out of order).
      const failures = (await Promise.allSettled(work)).filter((r) => r.status === 'rejected');
      await this.#advanceIdle();
      const drains = await Promise.allSettled(
        [...this.#partitions.keys()].map((key) => this.#workers.drain(key)),
      );
      for (const reply of drains) if (reply.status === 'fulfilled') this.#emit(reply.value.drain);
      for (const failure of [...failures, ...drains.filter((r) => r.status === 'rejected')])
        this.#log.error({ err: failure.reason }, 'an embedded partition failed; its output stops');
    } catch (error) {
      this.#log.error({ err: error }, 'embedded engine tick failed');
    } finally {
      this.#busy = false;
    }
  }

  async #process(partition: EmbeddedPartition, messages: SourceMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += this.#options.batchSize) {
      const task = packTask(
        partition.stream,
        streamTopic(partition.stream),
        partition.partition,
        messages.slice(i, i + this.#options.batchSize),
      );
      const reply = await this.#workers.batch(partition.key, task);
      partition.status = reply;
      partition.lastActivityAt = Date.now();
      this.#accepted += reply.accepted;
      for (const count of Object.values(reply.deadLetters)) this.#deadLettered += count;
    }
  }

  /** The real engine's idle policy (idlePolicy.ts); every partition here is always read to its end. */
  async #advanceIdle(): Promise<void> {
    const now = Date.now();
    const partitions = [...this.#partitions.values()];
    const o = { ...this.#options, impactBandMs: 0 };
    const target = idleTarget(partitions, now, o);
    if (!Number.isFinite(target)) return;
    await Promise.all(
      movable(partitions, now, target, o).map(async (p) => {
        p.status = await this.#workers.advance(p.key, target);
      }),
    );
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

interface EmbeddedPartition {
  readonly key: string;
  readonly stream: StreamName;
  readonly partition: number;
  status: PartitionStatus;
  lastActivityAt: number;
  inflightBatches: number;
}
