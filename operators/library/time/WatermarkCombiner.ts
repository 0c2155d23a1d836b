import { requireDurationOrInfinity } from '../../optionInternals.ts';
import { BoundedOutOfOrdernessWatermark } from './BoundedOutOfOrdernessWatermark.ts';

/** A source partition whose watermark is tracked separately. */
export interface SourcePartition {
  readonly source: string;
  readonly partition: number;
}

export interface WatermarkCombinerOptions {
  /** Per-partition delay of the watermark behind that partition's largest event time, ms. Default 0. */
  readonly outOfOrdernessMs?: number;
  /**
   * A partition that delivered nothing for this long (scheduler time, ms) stops holding the combined
   * watermark back until it delivers again. Default 30 000. `Infinity` disables idleness (Flink's default,
   * and the reason one quiet partition can stall a whole job there).
   */
  readonly idleTimeoutMs?: number;
  /**
   * Partitions known before any record arrives (e.g. the topic's partitions). Each holds the watermark at
   * `-Infinity` until it delivers or goes idle, so a slow-starting partition cannot make early records of
   * the others look on time and its own records late. Default: none (a partition counts from its first record).
   */
  readonly expectedSources?: readonly SourcePartition[];
}

/** The state of one partition, as reported by `WatermarkCombiner.partitions()`. */
export interface PartitionWatermark extends SourcePartition {
  /** That partition's own watermark, epoch ms. */
  readonly watermark: number;
  readonly idle: boolean;
  /** Scheduler time of its last record, ms. */
  readonly lastSeenAt: number;
}

interface Entry {
  readonly source: string;
  readonly partition: number;
  readonly tracker: BoundedOutOfOrdernessWatermark;
  lastSeenAt: number;
  idle: boolean;
}

/**
 * Combines per-partition watermarks by minimum, the way Flink and Kafka Streams do across input
 * partitions, and lets idle partitions stop holding the result back.
 *
 * Each partition's watermark is event-driven (`max event time - outOfOrdernessMs`); only idleness uses
 * processing time, which the caller passes in (`now`, ms, from a `SchedulerLike`), so the class itself reads
 * no clock. The combined watermark is `min` over the partitions that are not idle, never goes back, and
 * stays where it is while every partition is idle. A partition that delivers again is active again; records
 * it delivers behind the combined watermark are late downstream (as in Flink).
 *
 * `assignWatermarks()` wraps this class with a scheduler-driven idle timer.
 *
 * @example
 * const combiner = new WatermarkCombiner({ idleTimeoutMs: 10_000 }, 0);
 * combiner.observe('gps', 0, 5_000, 0);
 * combiner.observe('gps', 1, 9_000, 0);
 * combiner.current;          // 5_000: partition 0 holds it back
 * combiner.markIdle(10_000); // true: both idle now, but nothing passes the last value
 * combiner.observe('gps', 1, 12_000, 10_500);
 * combiner.current;          // 12_000: partition 0 is idle and no longer counts
 */
export class WatermarkCombiner {
  readonly outOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  readonly #entries: Entry[] = [];
  readonly #bySource = new Map<string, Map<number, Entry>>();
  #current = Number.NEGATIVE_INFINITY;
  #lastEntry: Entry | undefined;

  /** @param now scheduler time at creation, ms: expected partitions count as last seen then. */
  constructor(options: WatermarkCombinerOptions = {}, now = 0) {
    const probe = new BoundedOutOfOrdernessWatermark(options.outOfOrdernessMs ?? 0);
    this.outOfOrdernessMs = probe.outOfOrdernessMs;
    this.idleTimeoutMs = requireDurationOrInfinity('options.idleTimeoutMs', options.idleTimeoutMs ?? 30_000);
    for (const { source, partition } of options.expectedSources ?? []) this.#entry(source, partition, now);
  }

  /** The combined watermark, epoch ms (`-Infinity` until every expected partition delivered or went idle). */
  get current(): number {
    return this.#current;
  }

  /**
   * Takes one record into account: its partition becomes active and its watermark may advance.
   * Returns whether the combined watermark advanced.
   */
  observe(source: string, partition: number, timestamp: number, now: number): boolean {
    let entry = this.#lastEntry;
    if (entry === undefined || entry.partition !== partition || entry.source !== source) {
      entry = this.#entry(source, partition, now);
      this.#lastEntry = entry;
    }
    entry.lastSeenAt = now;
    const wasIdle = entry.idle;
    entry.idle = false;
    if (!entry.tracker.observe(timestamp) && !wasIdle) return false;
    return this.#recompute();
  }

  /** Marks partitions silent for at least `idleTimeoutMs` as idle. Returns whether the combined watermark advanced. */
  markIdle(now: number): boolean {
    let changed = false;
    for (const entry of this.#entries) {
      if (!entry.idle && now - entry.lastSeenAt >= this.idleTimeoutMs) {
        entry.idle = true;
        changed = true;
      }
    }
    return changed && this.#recompute();
  }

  /** Scheduler time (ms) at which the next active partition would go idle, or `undefined` if none can. */
  nextIdleDeadline(): number | undefined {
    if (this.idleTimeoutMs === Number.POSITIVE_INFINITY) return undefined;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries) {
      if (!entry.idle && entry.lastSeenAt < earliest) earliest = entry.lastSeenAt;
    }
    return earliest === Number.POSITIVE_INFINITY ? undefined : earliest + this.idleTimeoutMs;
  }

  /** Every known partition in order of first appearance, with its own watermark and idleness. */
  partitions(): PartitionWatermark[] {
    return this.#entries.map((e) => ({
      source: e.source,
      partition: e.partition,
      watermark: e.tracker.current,
      idle: e.idle,
      lastSeenAt: e.lastSeenAt,
    }));
  }

  #entry(source: string, partition: number, now: number): Entry {
    let partitions = this.#bySource.get(source);
    if (partitions === undefined) {
      partitions = new Map();
      this.#bySource.set(source, partitions);
    }
    let entry = partitions.get(partition);
    if (entry === undefined) {
      entry = {
        source,
        partition,
        tracker: new BoundedOutOfOrdernessWatermark(this.outOfOrdernessMs),
        lastSeenAt: now,
        idle: false,
      };
      partitions.set(partition, entry);
      this.#entries.push(entry);
    }
    return entry;
  }

  #recompute(): boolean {
    let min = Number.POSITIVE_INFINITY;
    let active = false;
    for (const entry of this.#entries) {
      if (entry.idle) continue;
      active = true;
      if (entry.tracker.current < min) min = entry.tracker.current;
    }
    if (!active || min <= this.#current) return false;
    this.#current = min;
    return true;
  }
}
