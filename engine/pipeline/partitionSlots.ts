import { performance } from 'node:perf_hooks';
import { keyOf, type SourceMessage, type TopicPartition } from '../connectors/kafka/source.ts';
import { type StreamName, streamOfTopic } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { EngineOptions } from './engineOptions.ts';
import { idleTarget, movable } from './idlePolicy.ts';
import { packTask } from './packTask.ts';
import { type PipelineDrain, parseCommitMetadata } from './partitionPipeline.ts';
import type { BatchReply, DrainReply, PartitionStatus } from './partitionWorker.ts';
import type { PartitionWorkers } from './partitionWorkers.ts';

/** The main thread's view of a partition whose state lives in its worker (see `PartitionWorkers`). */
export interface PartitionSlot {
  readonly key: string;
  readonly stream: StreamName;
  readonly topic: string;
  readonly partition: number;
  /** The source's generation of the assignment this state was restored for (see `SourceMessage.generation`). */
  readonly generation: number;
  /** As of the worker's last reply. */
  status: PartitionStatus;
  /** Wall-clock time of the last batch reply, for idleness. */
  lastActivityAt: number;
  /** Batches sent to the worker and not answered yet. */
  inflightBatches: number;
}

/** What the slots tell the engine. */
export interface SlotEvents {
  /** A failure nothing may carry on from: a batch, an open, a drain or a watermark move that failed. */
  fail(error: unknown): void;
  /** True once the engine failed: from then on no reply moves a partition on. */
  failed(): boolean;
  /** A batch was answered (its counts), after `seconds` in the worker's chain. */
  answered(stream: StreamName, reply: BatchReply, seconds: number): void;
  /** A partition left this instance: whoever owns it next commits for it. */
  revoked(key: string): void;
}

/** The end offsets an idle check needs from the consumer. */
export interface EndOffsets {
  highWatermark(topic: string, partition: number): number;
  queryHighWatermark(topic: string, partition: number): Promise<number>;
}

/**
 * The partitions this instance owns: their assignment to the workers (open on assignment, closing drain
 * on revocation), the batches under way, the drains collected for a flush, and the idle policy that moves
 * a silent partition's watermark on.
 */
export class PartitionSlots {
  readonly #slots = new Map<string, PartitionSlot>();
  readonly #workers: PartitionWorkers;
  readonly #options: EngineOptions;
  readonly #prefix: string;
  readonly #events: SlotEvents;
  readonly #log: Logger;
  /** Drains of revoked partitions, on their way from the workers: written at the next flush. */
  #revoked: Array<Promise<DrainReply>> = [];
  #inflight = 0;

  constructor(
    workers: PartitionWorkers,
    options: EngineOptions,
    prefix: string,
    events: SlotEvents,
    log: Logger,
  ) {
    this.#workers = workers;
    this.#options = options;
    this.#prefix = prefix;
    this.#events = events;
    this.#log = log;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Messages handed to the workers and not answered yet. */
  get inflight(): number {
    return this.#inflight;
  }

  get(key: string): PartitionSlot | undefined {
    return this.#slots.get(key);
  }

  keys(): string[] {
    return [...this.#slots.keys()];
  }

  all(): PartitionSlot[] {
    return [...this.#slots.values()];
  }

  /** Bytes the workers hold for the next flush. */
  bufferedBytes(): number {
    let bytes = 0;
    for (const slot of this.#slots.values()) bytes += slot.status.bufferedBytes;
    return bytes;
  }

  /** Opens each partition in the worker that will own it, restored from its commit metadata. */
  assign(partitions: ReadonlyArray<TopicPartition & { metadata: string | null; generation: number }>): void {
    for (const p of partitions) {
      const stream = streamOfTopic(p.topic, this.#prefix);
      if (!stream)
        throw new CityOpsError('INVARIANT_BROKEN', `assigned a partition of unknown topic ${p.topic}`);
      const restored = parseCommitMetadata(p.metadata);
      const key = keyOf(p);
      // Assigned again without a revocation in between (a replaced consumer's late assignment): the state
      // held is dropped as on a revocation, and re-derived from the commit.
      if (this.#slots.has(key)) this.revoke([p]);
      const opened = this.#workers.open(key, { stream, topic: p.topic, partition: p.partition, restored });
      this.#slots.set(key, {
        key,
        stream,
        topic: p.topic,
        partition: p.partition,
        generation: p.generation,
        status: {
          watermark: restored?.wm ?? Number.NEGATIVE_INFINITY,
          maxEventTime: Number.NEGATIVE_INFINITY,
          nextOffset: undefined,
          bufferedBytes: 0,
        },
        lastActivityAt: Date.now(),
        inflightBatches: 0,
      });
      // Not awaited: the worker runs the partition's tasks in order, so its batches come after this.
      opened.catch((error: unknown) => this.#events.fail(error));
      this.#log.info(
        {
          topic: p.topic,
          partition: p.partition,
          restored: restored ?? null,
          worker: this.#workers.ownerOf(key),
        },
        'partition state restored',
      );
    }
  }

  /**
   * Drops the partitions' state here. Enough for correctness: the new owner re-derives it from the
   * committed offset. What was buffered for them is still written at the next flush (idempotent).
   */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const key = keyOf(p);
      this.#events.revoked(key);
      if (!this.#slots.delete(key)) continue;
      const closing = this.#workers.drain(key, true);
      closing.catch(() => {}); // handled by the flush that takes it
      this.#revoked.push(closing);
    }
  }

  /** Hands one batch to the partition's worker. */
  dispatch(slot: PartitionSlot, messages: SourceMessage[]): void {
    const task = packTask(slot.stream, slot.topic, slot.partition, messages, this.#options);
    const started = performance.now();
    this.#inflight += messages.length;
    slot.inflightBatches += 1;
    this.#workers
      .batch(slot.key, task)
      .then((reply) => {
        // After a failure nothing more moves on; a revoked partition's batch is in its closing drain.
        if (this.#events.failed()) return;
        this.#events.answered(slot.stream, reply, (performance.now() - started) / 1000);
        slot.status = reply;
        slot.lastActivityAt = Date.now();
      })
      .catch((error: unknown) => this.#events.fail(error))
      .finally(() => {
        this.#inflight -= messages.length;
        slot.inflightBatches -= 1;
      });
  }

  /**
   * What every partition's worker produced since the last collection, and the revoked partitions' last
   * drains. Rejects when a worker refuses (a partition whose batch failed drains nothing).
   */
  async collect(): Promise<PipelineDrain[]> {
    const slots = this.all();
    const revoked = this.#revoked;
    this.#revoked = [];
    const replies = await Promise.all([...revoked, ...slots.map((slot) => this.#workers.drain(slot.key))]);
    return replies.map((reply, i) => {
      const slot = slots[i - revoked.length];
      // A drain changes only the buffered bytes; a batch answered meanwhile has the newer status.
      if (
        slot &&
        this.#slots.get(slot.key) === slot &&
        reply.nextOffset === slot.status.nextOffset &&
        reply.watermark >= slot.status.watermark
      )
        slot.status = reply;
      return reply.drain;
    });
  }

  /**
   * Moves the watermarks of idle partitions on, so their last windows close (docs/exactly-once.md).
   * True when one moved. `current` says whether the engine still runs on the same consumer.
   */
  async advanceIdle(source: EndOffsets, current: () => boolean): Promise<boolean> {
    const o = this.#options;
    const idle = (slot: PartitionSlot, now: number, target: number) =>
      movable([slot], now, target, o).length > 0;
    if (this.#slots.size === 0) return false;
    let now = Date.now();
    let target = idleTarget(this.all(), now, o);
    if (!Number.isFinite(target)) return false;
    // Only a partition read to its end may move on. The end offset librdkafka caches is as old as the last
    // fetch of that partition, and it stops fetching while its local queue is full: a partition starved of
    // fetches behind a busy one then looked caught up and silent, its watermark moved to the busy one's,
    // and its next records were late (seen in bench:day: 56 incidents of one partition). So the broker is
    // asked for the end offset of each candidate that the cached end offset does not already rule out.
    const candidates = this.all().filter((slot) => {
      if (!idle(slot, now, target)) return false;
      const cached = source.highWatermark(slot.topic, slot.partition);
      return cached >= 0 && slot.status.nextOffset! >= cached;
    });
    if (candidates.length === 0) return false;
    const ends = await Promise.all(
      candidates.map((slot) => source.queryHighWatermark(slot.topic, slot.partition)),
    );
    if (!current()) return false;
    // Records may have arrived meanwhile: decide again on the state as it is now.
    now = Date.now();
    target = idleTarget(this.all(), now, o);
    if (!Number.isFinite(target)) return false;
    const advances = candidates.map(async (slot, i) => {
      const end = ends[i]!;
      if (this.#slots.get(slot.key) !== slot || !idle(slot, now, target)) return false;
      if (end < 0 || slot.status.nextOffset! < end) return false; // not caught up, or the broker did not say
      // A failed watermark move is a failed partition, as a failed batch is: the engine stops.
      const status = await this.#workers.advance(slot.key, target).catch((error: unknown) => {
        this.#events.fail(error);
        return undefined;
      });
      if (!status) return false;
      if (this.#slots.get(slot.key) === slot) slot.status = status;
      this.#log.debug(
        { topic: slot.topic, partition: slot.partition, watermark: target },
        'idle partition advanced',
      );
      return true;
    });
    return (await Promise.all(advances)).some(Boolean);
  }
}
