import { Piscina } from 'piscina';
import type { StreamName } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import type { BatchTask } from './batchWorker.ts';
import type { CommitMetadata, WindowTiming } from './partitionPipeline.ts';
import type {
  BatchReply,
  DrainReply,
  PartitionReply,
  PartitionStatus,
  PartitionTask,
} from './partitionWorker.ts';

export interface PartitionSpec {
  readonly stream: StreamName;
  readonly topic: string;
  readonly partition: number;
  readonly restored: CommitMetadata | undefined;
}

/**
 * The worker threads that own the partitions' state. Assignment is sticky: a partition opened on a worker
 * keeps it until it is closed. A new partition goes to the worker holding the fewest.
 *
 * Each worker is a piscina pool of one thread, and its tasks are handed over one after the other, each when
 * the one before it has settled, so a partition's batches, watermark moves and drains happen in the order
 * the main thread sent them. Why not one pool of N: piscina gives a task to whichever thread is free, and a
 * partition's windows must stay where its earlier records were folded in. Why not piscina's queue alone: a
 * task it cannot place at once goes to the back of its queue (unless `stricterFIFO`), which let a batch
 * overtake the task that opened its partition; the order here does not depend on the scheduler's policy.
 * The cost is one message round trip per task during which the thread waits, under 1% of a batch.
 */
export class PartitionWorkers {
  readonly #pools: Piscina[];
  /** Settles when the last task handed to each worker has. */
  readonly #tails: Array<Promise<unknown>>;
  readonly #owner = new Map<string, number>();
  readonly #held: number[];
  readonly #busyMs: number[];
  readonly #timing: WindowTiming;
  readonly #revisionBase: number;

  constructor(threads: number, timing: WindowTiming, revisionBase: number) {
    this.#timing = timing;
    this.#revisionBase = revisionBase;
    this.#held = new Array<number>(threads).fill(0);
    this.#busyMs = new Array<number>(threads).fill(0);
    this.#tails = new Array<Promise<unknown>>(threads).fill(Promise.resolve());
    this.#pools = Array.from(
      { length: threads },
      () =>
        new Piscina({
          filename: new URL('./partitionWorkerEntry.mjs', import.meta.url).href,
          minThreads: 1,
          maxThreads: 1,
          idleTimeout: Number.POSITIVE_INFINITY,
        }),
    );
  }

  get threads(): number {
    return this.#pools.length;
  }

  /** Which worker owns the partition (for logs and per-thread figures), or undefined. */
  ownerOf(key: string): number | undefined {
    return this.#owner.get(key);
  }

  /** Creates the partition's state on the least loaded worker, restored from its commit metadata. */
  open(key: string, spec: PartitionSpec): Promise<PartitionStatus> {
    if (this.#owner.has(key)) throw new CityOpsError('INVARIANT_BROKEN', `${key} is already open`);
    const index = this.#held.indexOf(Math.min(...this.#held));
    this.#owner.set(key, index);
    this.#held[index]! += 1;
    return this.#run(key, {
      op: 'open',
      key,
      ...spec,
      timing: this.#timing,
      revisionBase: this.#revisionBase,
    }) as Promise<PartitionStatus>;
  }

  /** Decodes, validates, enriches and windows one batch in the partition's worker. */
  batch(key: string, batch: BatchTask): Promise<BatchReply> {
    return this.#enqueue(this.#index(key), { op: 'batch', key, batch }, [
      batch.payload.buffer as ArrayBuffer,
      batch.keyPayload.buffer as ArrayBuffer,
    ]) as Promise<BatchReply>;
  }

  /** Moves an idle partition's watermark on. */
  advance(key: string, watermark: number): Promise<PartitionStatus> {
    return this.#run(key, { op: 'advance', key, watermark }) as Promise<PartitionStatus>;
  }

  /** Takes what the partition produced since its last drain; `close` also drops its state (revoked). */
  drain(key: string, close = false): Promise<DrainReply> {
    const reply = this.#run(key, { op: 'drain', key, close }) as Promise<DrainReply>;
    if (close) {
      this.#held[this.#index(key)]! -= 1;
      this.#owner.delete(key);
    }
    return reply;
  }

  /** Time each worker thread has spent running tasks, seconds, as of its last reply. */
  busySeconds(): readonly number[] {
    return this.#busyMs.map((ms) => ms / 1000);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.destroy()));
  }

  #index(key: string): number {
    const index = this.#owner.get(key);
    if (index === undefined) throw new CityOpsError('INVARIANT_BROKEN', `${key} is not open on any worker`);
    return index;
  }

  #run(key: string, task: PartitionTask): Promise<PartitionReply> {
    return this.#enqueue(this.#index(key), task);
  }

  #enqueue(index: number, task: PartitionTask, transferList?: ArrayBuffer[]): Promise<PartitionReply> {
    const pool = this.#pools[index]!;
    const run = this.#tails[index]!.then(async () => {
      const reply = (await pool.run(task, transferList ? { transferList } : {})) as PartitionReply;
      this.#busyMs[index] = reply.busyMs;
      return reply;
    });
    this.#tails[index] = run.catch(() => {});
    return run;
  }
}
