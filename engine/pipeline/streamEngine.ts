import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from '../config/environment.ts';
import { type ClickHouseClient, createClickHouse } from '../connectors/clickhouse/client.ts';
import { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { KafkaSink } from '../connectors/kafka/sink.ts';
import { KafkaSource, keyOf, type SourceMessage } from '../connectors/kafka/source.ts';
import { STREAM_NAMES, streamTopic } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { createEngineMetrics, type EngineMetrics, serveMetrics } from '../observability/metrics.ts';
import { Committer } from './committer.ts';
import type { EngineOptions } from './engineOptions.ts';
import { Finalizer } from './finalizer.ts';
import { FinalizerSchedule } from './finalizerSchedule.ts';
import { LayerWriter } from './layerWriter.ts';
import { publishLive } from './livePublisher.ts';
import { groupByPartition } from './packTask.ts';
import type { PipelineDrain } from './partitionPipeline.ts';
import { PartitionSlots, type SlotEvents } from './partitionSlots.ts';
import { PartitionWorkers } from './partitionWorkers.ts';

/** librdkafka's "fatal error" code: the client instance cannot continue. */
const ERR_FATAL = -150;
/**
 * A full poll this recently, or buffers full, means the engine is catching up: the finalizer then runs one
 * round per interval.
 */
const CATCHING_UP_MS = 2_000;

/**
 * libuv threads the engine wants. @confluentinc/kafka-javascript runs its blocking librdkafka calls (each
 * consume, reading committed offsets, connecting, admin requests, a producer's flush on disconnect) on
 * Node's libuv thread pool, 4 threads by default. While the broker is away several of those block for
 * their whole timeout, and consume() then waits for a free thread: librdkafka serves the group's
 * rebalance callbacks from consume(), so the consumer never took its partitions back (broker restart test,
 * CI). The pool size is read when the process starts (setting it from JavaScript is too late), so whoever
 * starts the engine sets UV_THREADPOOL_SIZE; the npm scripts, the tests and the benchmarks do.
 */
export const ENGINE_THREADPOOL_SIZE = 16;

/** A warning to log when the process runs with fewer libuv threads than the engine wants, else undefined. */
export function threadpoolWarning(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const size = Number(env['UV_THREADPOOL_SIZE'] ?? 4);
  return size >= ENGINE_THREADPOOL_SIZE
    ? undefined
    : `UV_THREADPOOL_SIZE is ${size}: Kafka calls that block while a broker is away can starve the consumer; start the engine with UV_THREADPOOL_SIZE=${ENGINE_THREADPOOL_SIZE}`;
}

/** Counters since the engine started. */
export interface EngineTotals {
  consumed: number;
  accepted: number;
  deadLettered: number;
  late: number;
  written: number;
}

/**
 * The engine: a Kafka consumer-group member that hands batches of the three exchange streams to the piscina
 * worker thread owning each partition (decode, validate, enrich, de-duplicate, event-time windows; see
 * `PartitionWorkers`), writes every layer to ClickHouse from what the workers drain, and commits offsets
 * only once what they cover is written.
 *
 * Exactly once, end to end: writes are idempotent (deterministic keys, ReplacingMergeTree), and a restart
 * or a rebalance re-derives each partition's state from its committed offset and commit metadata (see
 * `PartitionPipeline` and docs/exactly-once.md). A crash, a broker restart or a ClickHouse outage loses no
 * accepted record and counts none twice.
 */
export class StreamEngine {
  readonly metrics: EngineMetrics;
  readonly #env: Environment;
  readonly #options: EngineOptions;
  readonly #log: Logger;
  #slots: PartitionSlots | undefined;
  readonly #revisionBase = Math.floor(Date.now() / 1000) * 1_000_000;
  #workers: PartitionWorkers | undefined;
  #source: KafkaSource | undefined;
  #sink: KafkaSink | undefined;
  #clickhouse: ClickHouseClient | undefined;
  #layers: LayerWriter | undefined;
  #committer: Committer | undefined;
  #finalizer: FinalizerSchedule | undefined;
  #metricsServer: Server | undefined;
  #pending: PipelineDrain[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  /** An idle check is under way (it asks the broker for end offsets): the next one waits its turn. */
  #checkingIdle = false;
  #timers: NodeJS.Timeout[] = [];
  #lastFlushOkAt = Date.now();
  /** When a poll last brought a full batch: the engine is catching up on its input (performance.now()). */
  #lastFullPollAt = Number.NEGATIVE_INFINITY;
  #lastFlushError: string | undefined;
  #fatal: Error | undefined;
  #onFatal: (error: Error) => void = () => {};
  /** Resolves when the engine fails on its own (a bug or an unrecoverable error); never on `stop()`. */
  readonly failed = new Promise<Error>((resolve) => {
    this.#onFatal = resolve;
  });
  #totals: EngineTotals = { consumed: 0, accepted: 0, deadLettered: 0, late: 0, written: 0 };

  constructor(env: Environment, options: EngineOptions, logger: Logger) {
    this.#env = env;
    this.#options = options;
    this.#log = logger;
    this.metrics = createEngineMetrics();
  }

  /** Port of the /metrics and /health server, once started. */
  get metricsPort(): number | undefined {
    const address = this.#metricsServer?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** Counters since start: consumed, accepted, dead-lettered, late, rows written. */
  get totals(): Readonly<EngineTotals> {
    return { ...this.#totals };
  }

  async start(): Promise<void> {
    const o = this.#options;
    this.#clickhouse = createClickHouse(this.#env);
    const writer = new ClickHouseSink(this.#clickhouse);
    this.#sink = new KafkaSink(this.#env, `${o.instanceId}-sink`, this.#log);
    await this.#sink.connect();
    this.#layers = new LayerWriter(this.#env, writer, this.#sink, this.metrics);
    this.#committer = new Committer(this.#env, writer, this.metrics, o.instanceId);
    this.#workers = new PartitionWorkers(o.workers, o, this.#revisionBase);
    const prefix = this.#env.CITY_OPS_TOPIC_PREFIX;
    this.#slots = new PartitionSlots(this.#workers, o, prefix, this.#slotEvents(), this.#log);
    this.#source = this.#createSource();
    await this.#source.connect();
    if (o.metricsPort >= 0) {
      this.#metricsServer = await serveMetrics(this.metrics.registry, o.metricsPort, () => this.health());
    }
    if (o.finalizer) {
      const finalizer = new Finalizer(this.#env, this.#clickhouse, this.#sink, o, this.#log);
      this.#finalizer = new FinalizerSchedule(
        finalizer,
        o.finalizeIntervalMs,
        this.metrics,
        this.#log,
        () => performance.now() - this.#lastFullPollAt < CATCHING_UP_MS || this.#saturated(),
      );
    }
    this.#running = true;
    this.#loop = this.#pollLoop().catch((error: unknown) => this.#die(error));
    this.#timers.push(setInterval(() => void this.#flush(), o.flushIntervalMs));
    this.#timers.push(setInterval(() => void this.#checkIdle(), Math.min(1_000, o.idleTimeoutMs)));
    this.#timers.push(setInterval(() => this.#report(), 10_000));
    const warning = threadpoolWarning();
    if (warning) this.#log.warn(warning);
    this.#log.info({ options: o, prefix }, 'engine started');
  }

  /** Health for /health: ok while the loop runs and writes succeed (or there is nothing to write). */
  health(): { ok: boolean; [key: string]: unknown } {
    const stale = this.#pending.length > 0 && Date.now() - this.#lastFlushOkAt > 30_000;
    return {
      ok: this.#running && !this.#fatal && !stale,
      running: this.#running,
      partitions: this.#slots?.keys() ?? [],
      lastFlushOkAt: new Date(this.#lastFlushOkAt).toISOString(),
      lastFlushError: this.#lastFlushError ?? null,
      totals: this.totals,
    };
  }

  /**
   * Stops consuming, lets the workers finish, writes and commits everything, leaves the group. A second
   * call waits for the first.
   */
  async stop(): Promise<void> {
    if (this.#fatal) return this.#closeAfterFailure();
    if (!this.#running) return;
    this.#running = false;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#loop;
    await this.#finalizer?.stop();
    // A flush under way drained before the last batches were answered: let it end, then flush again.
    await this.#flushing;
    for (let attempt = 1; attempt <= 5; attempt++) {
      await this.#flush();
      if (this.#pending.length === 0) break;
      await sleep(500 * attempt);
    }
    await this.#source?.close();
    await this.#workers?.destroy();
    await this.#sink?.close();
    await this.#clickhouse?.close();
    await new Promise<void>((resolve) =>
      this.#metricsServer ? this.#metricsServer.close(() => resolve()) : resolve(),
    );
    this.#log.info({ totals: this.totals }, 'engine stopped');
  }

  /**
   * A failure the engine cannot carry on from (a batch that failed in a worker, a broken invariant). From
   * here nothing more is applied, written or committed: the timers stop, later batches of every chain are
   * dropped, and a flush under way commits nothing after its write. The committed offsets stay before the
   * failed batch, so a restart reads it again.
   */
  #die(error: unknown): void {
    if (this.#fatal) return;
    this.#fatal = error instanceof Error ? error : new Error(String(error));
    this.#log.fatal({ err: this.#fatal }, 'engine failed; nothing more is written or committed');
    this.#running = false;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#finalizer?.halt();
    this.#onFatal(this.#fatal);
  }

  /** After a failure: lets what runs end, releases the clients and threads; writes and commits nothing. */
  #closing: Promise<void> | undefined;
  #closeAfterFailure(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#loop?.catch(() => {});
      await this.#flushing?.catch(() => {});
      await this.#finalizer?.stop().catch(() => {});
      await this.#source?.close().catch(() => {});
      await this.#workers?.destroy().catch(() => {});
      await this.#sink?.close().catch(() => {});
      await this.#clickhouse?.close().catch(() => {});
      await new Promise<void>((resolve) =>
        this.#metricsServer ? this.#metricsServer.close(() => resolve()) : resolve(),
      );
    })();
    return this.#closing;
  }

  async #pollLoop(): Promise<void> {
    const o = this.#options;
    // One poll is always under way while the workers process what the previous one brought: the
    // consumer's fetch (a libuv thread) overlaps with decoding, so neither waits for the other.
    let next: Promise<SourceMessage[]> | undefined;
    while (this.#running) {
      if (!next && this.#saturated()) {
        await sleep(2);
        continue;
      }
      let messages: SourceMessage[];
      // A consumer left without partitions after losing its assignment is replaced (`lostAssignmentLimitMs`).
      // Seen after a broker restart: the static member polled on (thousands of polls) and no assignment came
      // for minutes (tests/integration/engine/outages.test.ts in CI). Checked whether or not a poll is under
      // way: one nearly always is, which kept a first version of this check from ever firing.
      const lostFor = this.#source!.lostFor();
      if (lostFor !== undefined && lostFor >= o.lostAssignmentLimitMs && this.#slots!.size === 0) {
        await next?.catch(() => []);
        next = undefined;
        await this.#replaceSource(
          new CityOpsError(
            'SERVICE_UNAVAILABLE',
            `no partition assigned for ${Math.round(lostFor / 1000)} s since the assignment was lost`,
          ),
        );
        continue;
      }
      try {
        messages = await (next ?? this.#gather());
      } catch (error) {
        next = undefined;
        if ((error as { code?: number }).code === ERR_FATAL) {
          // librdkafka's consumer is unusable after a fatal error (e.g. fenced after a broker restart): drop
          // the state of its partitions, as on a revocation, and join the group again with a new consumer.
          await this.#replaceSource(error);
          continue;
        }
        this.#log.warn({ err: error }, 'poll failed; retrying');
        await sleep(500);
        continue;
      }
      next = undefined;
      for (const [key, all] of groupByPartition(messages)) {
        const slot = this.#slots!.get(key);
        if (!slot) continue; // revoked between poll and here: the new owner reads them from the commit
        // Taken from the source before a revocation, and the partition assigned again since: the new state
        // reads them again from its commit.
        const group = all.every((m) => m.generation === slot.generation)
          ? all
          : all.filter((m) => m.generation === slot.generation);
        if (group.length === 0) continue;
        const stream = slot.stream;
        this.metrics.consumed.inc({ stream }, group.length);
        this.#totals.consumed += group.length;
        for (let i = 0; i < group.length; i += o.batchSize)
          this.#slots!.dispatch(slot, group.slice(i, i + o.batchSize));
      }
      if (this.#running && !this.#saturated()) next = this.#gather();
    }
    await next?.catch(() => []);
  }

  #createSource(): KafkaSource {
    const o = this.#options;
    // A consumer being replaced may still call back (a late restore, the revocation of its close): only the
    // current one may create or drop partition state.
    const source: KafkaSource = new KafkaSource(this.#env, {
      groupId: o.groupId,
      clientId: o.instanceId,
      fetchQueueKbytes: o.fetchQueueKbytes,
      topics: STREAM_NAMES.map((s) => streamTopic(s, this.#env.CITY_OPS_TOPIC_PREFIX)),
      logger: this.#log,
      onAssign: async (partitions) => {
        if (this.#source === source) this.#slots!.assign(partitions);
      },
      onRevoke: (partitions) => {
        if (this.#source === source) this.#slots!.revoke(partitions);
      },
      onCommitFailed: (partitions) => {
        this.metrics.commitFailures.inc(partitions.length);
        // Not skipped as "already committed" at the next flush.
        for (const p of partitions) this.#committer?.forget(keyOf(p));
      },
    });
    return source;
  }

  async #replaceSource(cause: unknown): Promise<void> {
    this.#log.error({ err: cause }, 'replacing the Kafka consumer (state re-derived from commits)');
    this.#slots!.revoke(this.#slots!.all());
    // A consumer in a fatal state may never answer a disconnect: do not wait for it forever.
    await Promise.race([this.#source?.close().catch(() => {}), sleep(5_000)]);
    for (;;) {
      try {
        this.#source = this.#createSource();
        await this.#source.connect();
        return;
      } catch (error) {
        this.#log.warn({ err: error }, 'reconnecting the Kafka consumer failed; retrying');
        await sleep(1_000);
        if (!this.#running) return;
      }
    }
  }

  /**
   * Up to `maxPollRecords` messages: whatever the consumer has ready, topped up for at most
   * `pollLingerMs` when it has only a few, so that a trickle of messages still makes batches worth a trip
   * to a worker.
   */
  async #gather(): Promise<SourceMessage[]> {
    const o = this.#options;
    const source = this.#source!;
    const messages = await source.poll(o.maxPollRecords);
    if (messages.length >= o.batchSize) this.#lastFullPollAt = performance.now();
    if (messages.length === 0 || messages.length >= o.batchSize) return messages;
    const until = performance.now() + o.pollLingerMs;
    while (messages.length < o.maxPollRecords && performance.now() < until && this.#running) {
      const more = await source.poll(o.maxPollRecords - messages.length);
      if (more.length === 0) break;
      for (const m of more) messages.push(m);
    }
    return messages;
  }

  #slotEvents(): SlotEvents {
    return {
      fail: (error) => this.#die(error),
      failed: () => this.#fatal !== undefined,
      answered: (stream, reply, seconds) => {
        this.metrics.accepted.inc({ stream }, reply.accepted);
        this.#totals.accepted += reply.accepted;
        for (const [reason, count] of Object.entries(reply.deadLetters)) {
          this.metrics.deadLettered.inc({ stream, reason }, count);
          this.#totals.deadLettered += count;
        }
        this.metrics.batchLatency.observe({ stream }, seconds);
      },
      revoked: (key) => this.#committer!.forget(key),
    };
  }

  /** Enough is in the workers or waiting to be written: the next poll waits. */
  #saturated(): boolean {
    const o = this.#options;
    if (this.#slots!.inflight >= o.maxInflightMessages) return true;
    let bytes = this.#slots!.bufferedBytes();
    for (const drain of this.#pending) for (const chunk of drain.atomic) bytes += chunk.bytes.length;
    return bytes >= o.maxBufferedBytes;
  }

  /** Watermarks of idle partitions move on, so their last windows close (see docs/exactly-once.md). */
  async #checkIdle(): Promise<void> {
    if (this.#checkingIdle) return;
    this.#checkingIdle = true;
    try {
      const source = this.#source!;
      const current = () => this.#running && this.#source === source;
      if (await this.#slots!.advanceIdle(source, current)) void this.#flush();
    } catch (error) {
      this.#log.warn({ err: error }, 'checking idle partitions failed; trying again at the next check');
    } finally {
      this.#checkingIdle = false;
    }
  }

  /** Writes everything drained so far, then commits; on failure keeps it for the next attempt. */
  #flush(): Promise<void> {
    if (this.#fatal) return Promise.resolve();
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#flushOnce().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flushOnce(): Promise<void> {
    if (!(await this.#collectDrains())) return;
    const drains = this.#pending;
    this.#pending = [];
    if (drains.every((d) => d.applied === 0 && d.windowRows.length === 0 && d.lateCount === 0 && !d.commit))
      return;
    const started = performance.now();
    try {
      await this.#write(drains);
      // The write is idempotent and may stand; the commit must not come after a failure.
      if (this.#fatal) return;
      await this.#commit(drains);
      this.#lastFlushOkAt = Date.now();
      this.#lastFlushError = undefined;
      this.#observeThreads();
      this.metrics.flushLatency.observe((performance.now() - started) / 1000);
      this.#publishLive(drains);
    } catch (error) {
      // Keep them, before anything drained meanwhile (a revoke), for the next attempt.
      this.#pending = [...drains, ...this.#pending];
      this.metrics.flushFailures.inc();
      this.#lastFlushError = (error as Error).message;
      this.#log.warn(
        { err: error, pendingDrains: this.#pending.length },
        'flush failed; will retry, nothing committed',
      );
    }
  }

  /**
   * Moves what every partition's worker produced since the last flush, and the revoked partitions' last
   * drains, into `#pending`. False when the engine failed meanwhile (a worker refuses to drain a partition
   * whose batch failed: nothing may be written or committed from its state).
   */
  async #collectDrains(): Promise<boolean> {
    try {
      const drains = await this.#slots!.collect();
      if (this.#fatal) return false;
      this.#pending.push(...drains);
      return true;
    } catch (error) {
      this.#die(error);
      return false;
    }
  }

  async #write(drains: readonly PipelineDrain[]): Promise<void> {
    const { written, late } = await this.#layers!.write(drains);
    this.#totals.written += written;
    this.#totals.late += late;
  }

  async #commit(drains: readonly PipelineDrain[]): Promise<void> {
    await this.#committer!.commit(drains, this.#source!);
  }

  /** Live updates for the map and the alert rules: best effort, never holds back a commit. */
  #publishLive(drains: readonly PipelineDrain[]): void {
    publishLive(drains, this.#sink!, this.#env.CITY_OPS_TOPIC_PREFIX, this.#log);
  }

  #lastReport = { at: Date.now(), consumed: 0 };

  /** Busy time per thread, for the catch-up's "which thread is the limit" (see bench:day). */
  #observeThreads(): void {
    const busy = this.metrics.threadBusy;
    busy.set({ thread: 'main' }, performance.eventLoopUtilization().active / 1000);
    this.#workers?.busySeconds().forEach((seconds, i) => {
      busy.set({ thread: `worker-${i}` }, seconds);
    });
  }

  #report(): void {
    const now = Date.now();
    const rate =
      ((this.#totals.consumed - this.#lastReport.consumed) * 1000) / Math.max(1, now - this.#lastReport.at);
    this.#lastReport = { at: now, consumed: this.#totals.consumed };
    this.#observeThreads();
    this.#log.info(
      {
        ...this.#totals,
        ratePerSecond: Math.round(rate),
        partitions: this.#slots?.size ?? 0,
        polls: this.#source?.polls,
        inflight: this.#slots?.inflight ?? 0,
        pendingDrains: this.#pending.length,
      },
      'progress',
    );
  }
}
