import {
  invalidOption,
  requireFunction,
  requireNonNegativeInteger,
  requireOneOf,
} from '../../optionInternals.ts';
import type { SourceRecord } from '../../time/SourceRecord.ts';
import type { LateRecord } from '../../windows/WindowOutput.ts';
import { invalidTimestamp, lateRecord } from '../../windows/windowInternals.ts';

export interface IntervalJoinOptions<L, R, K, O> {
  /** A right record may be up to this much earlier than the left one, ms (inclusive). */
  readonly beforeMs: number;
  /** A right record may be up to this much later than the left one, ms (inclusive). */
  readonly afterMs: number;
  /** Records up to this far behind the watermark are still joined, ms. Default 0. */
  readonly graceMs?: number;
  /**
   * - `'fromRecords'` (default): each side's watermark is its largest timestamp minus `outOfOrdernessMs`; the
   *   join's watermark is the smaller of the two (plus whatever `advanceWatermark()` pushes further).
   * - `'external'`: only `advanceWatermark()` moves it.
   */
  readonly watermarks?: 'fromRecords' | 'external';
  /** With `watermarks: 'fromRecords'`, ms. Default 0. */
  readonly outOfOrdernessMs?: number;
  readonly leftKey: (record: SourceRecord<L>) => K;
  readonly rightKey: (record: SourceRecord<R>) => K;
  /**
   * The keys a key may match, including itself, e.g. the H3 cells of a disk. Must be symmetric (`b` in
   * `probeKeys(a)` iff `a` in `probeKeys(b)`). Default: only the key itself (an equi-join).
   */
  readonly probeKeys?: (key: K) => readonly K[];
  /** An extra condition on a candidate pair (e.g. an exact distance check). Default: none. */
  readonly where?: (left: SourceRecord<L>, right: SourceRecord<R>) => boolean;
  /** Builds the output of a matching pair. */
  readonly join: (left: SourceRecord<L>, right: SourceRecord<R>) => O;
}

/** A matched pair's output. */
export interface JoinedRecord<O> {
  readonly kind: 'joined';
  readonly value: O;
}

/** A record that arrived behind `watermark - grace`: not joined, reported with its side. */
export type LateJoinRecord<L, R> =
  | (LateRecord<L> & { readonly side: 'left' })
  | (LateRecord<R> & { readonly side: 'right' });

/** What an interval join emits: matches and late records, in order, told apart by `kind`. */
export type IntervalJoinOutput<L, R, O> = JoinedRecord<O> | LateJoinRecord<L, R>;

/** Counters of an interval join since it was created. */
export interface IntervalJoinStats {
  readonly leftRecords: number;
  readonly rightRecords: number;
  readonly lateRecords: number;
  readonly joined: number;
  /** Records currently buffered (left + right). */
  readonly buffered: number;
  readonly watermark: number;
}

/**
 * The synchronous core of an interval join (Flink's `IntervalJoinOperator`): joins left and right records with
 * the same key (or a key in `probeKeys`) when `left.timestamp - beforeMs <= right.timestamp <=
 * left.timestamp + afterMs` and `where` holds. Each side buffers its records by key until no future record of
 * the other side can match them: a left record expires once `left.ts + afterMs < watermark - grace`, a right
 * one once `right.ts + beforeMs < watermark - grace` (swept lazily, which never changes results).
 *
 * A record with `timestamp < watermark - grace` is late: it goes to the late output and is not joined (its
 * partners may be gone). Every other pair that satisfies the condition is emitted exactly once, when its second
 * record arrives, whatever the arrival order: the results equal a brute-force join of the non-late records.
 * Duplicated records join again (no de-duplication). Deterministic for a given call sequence.
 *
 * @example
 * const join = new IntervalJoinProcessor({
 *   beforeMs: 0, afterMs: 600_000, // vehicles seen within 10 minutes after an incident
 *   leftKey: (incident) => incident.value.roadId,
 *   rightKey: (vehicle) => vehicle.value.roadId,
 *   join: (incident, vehicle) => ({ incidentId: incident.value.id, vehicleId: vehicle.value.id }),
 * });
 * join.addLeft(incident); join.addRightBatch(vehicles); // [{ kind: 'joined', value: {...} }, ...]
 */
export class IntervalJoinProcessor<L, R, K, O> {
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly graceMs: number;
  readonly #fromRecords: boolean;
  readonly #outOfOrderness: number;
  readonly #leftKey: (record: SourceRecord<L>) => K;
  readonly #rightKey: (record: SourceRecord<R>) => K;
  readonly #probeKeys: ((key: K) => readonly K[]) | undefined;
  readonly #where: ((left: SourceRecord<L>, right: SourceRecord<R>) => boolean) | undefined;
  readonly #join: (left: SourceRecord<L>, right: SourceRecord<R>) => O;
  readonly #sweepEvery: number;
  readonly #left = new Map<K, SourceRecord<L>[]>();
  readonly #right = new Map<K, SourceRecord<R>[]>();
  #maxLeft = Number.NEGATIVE_INFINITY;
  #maxRight = Number.NEGATIVE_INFINITY;
  #external = Number.NEGATIVE_INFINITY;
  #watermark = Number.NEGATIVE_INFINITY;
  #nextSweep = Number.NEGATIVE_INFINITY;
  #buffered = 0;
  #out: IntervalJoinOutput<L, R, O>[] = [];
  #leftRecords = 0;
  #rightRecords = 0;
  #late = 0;
  #joined = 0;

  constructor(options: IntervalJoinOptions<L, R, K, O>) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
    this.beforeMs = requireNonNegativeInteger('options.beforeMs', options.beforeMs);
    this.afterMs = requireNonNegativeInteger('options.afterMs', options.afterMs);
    this.graceMs = requireNonNegativeInteger('options.graceMs', options.graceMs ?? 0);
    this.#fromRecords =
      requireOneOf('options.watermarks', options.watermarks ?? 'fromRecords', ['fromRecords', 'external']) ===
      'fromRecords';
    this.#outOfOrderness = requireNonNegativeInteger(
      'options.outOfOrdernessMs',
      options.outOfOrdernessMs ?? 0,
    );
    this.#leftKey = requireFunction('options.leftKey', options.leftKey);
    this.#rightKey = requireFunction('options.rightKey', options.rightKey);
    this.#probeKeys =
      options.probeKeys === undefined ? undefined : requireFunction('options.probeKeys', options.probeKeys);
    this.#where = options.where === undefined ? undefined : requireFunction('options.where', options.where);
    this.#join = requireFunction('options.join', options.join);
    this.#sweepEvery = Math.max(1, Math.floor((this.beforeMs + this.afterMs) / 2));
  }

  /** The join's watermark, epoch ms. */
  get watermark(): number {
    return this.#watermark;
  }

  addLeft(record: SourceRecord<L>): IntervalJoinOutput<L, R, O>[] {
    this.#processLeft(record);
    return this.#finish();
  }

  addRight(record: SourceRecord<R>): IntervalJoinOutput<L, R, O>[] {
    this.#processRight(record);
    return this.#finish();
  }

  addLeftBatch(records: readonly SourceRecord<L>[]): IntervalJoinOutput<L, R, O>[] {
    for (let i = 0; i < records.length; i++) this.#processLeft(records[i]!);
    return this.#finish();
  }

  addRightBatch(records: readonly SourceRecord<R>[]): IntervalJoinOutput<L, R, O>[] {
    for (let i = 0; i < records.length; i++) this.#processRight(records[i]!);
    return this.#finish();
  }

  /** Moves the watermark to `timestamp` (ms) if later; buffered records that can no longer match are dropped. */
  advanceWatermark(timestamp: number): IntervalJoinOutput<L, R, O>[] {
    if (timestamp > this.#external) {
      this.#external = timestamp;
      this.#updateWatermark();
    }
    return this.#finish();
  }

  /** The smallest offset of `source`/`partition` among buffered records, or `undefined`. */
  oldestHeldOffset(source: string, partition: number): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    for (const buffer of [this.#left, this.#right] as Map<K, SourceRecord<unknown>[]>[]) {
      for (const records of buffer.values()) {
        for (const r of records) {
          if (r.offset < min && r.partition === partition && r.source === source) min = r.offset;
        }
      }
    }
    return min === Number.POSITIVE_INFINITY ? undefined : min;
  }

  stats(): IntervalJoinStats {
    return {
      leftRecords: this.#leftRecords,
      rightRecords: this.#rightRecords,
      lateRecords: this.#late,
      joined: this.#joined,
      buffered: this.#buffered,
      watermark: this.#watermark,
    };
  }

  #processLeft(record: SourceRecord<L>): void {
    const ts = record.timestamp;
    if (!Number.isSafeInteger(ts)) throw invalidTimestamp(record);
    this.#leftRecords++;
    if (ts > this.#maxLeft) {
      this.#maxLeft = ts;
      if (this.#fromRecords) this.#updateWatermark();
    }
    if (ts < this.#watermark - this.graceMs) {
      this.#late++;
      const window = { start: ts - this.beforeMs, end: ts + this.afterMs + 1 };
      this.#out.push({ ...lateRecord(record, [window], this.#watermark), side: 'left' });
      return;
    }
    const key = this.#leftKey(record);
    const low = ts - this.beforeMs;
    const high = ts + this.afterMs;
    const probe = this.#probeKeys;
    if (probe === undefined) this.#matchLeft(record, this.#right.get(key), low, high);
    else for (const k of probe(key)) this.#matchLeft(record, this.#right.get(k), low, high);
    let buffer = this.#left.get(key);
    if (buffer === undefined) {
      buffer = [];
      this.#left.set(key, buffer);
    }
    buffer.push(record);
    this.#buffered++;
  }

  #processRight(record: SourceRecord<R>): void {
    const ts = record.timestamp;
    if (!Number.isSafeInteger(ts)) throw invalidTimestamp(record);
    this.#rightRecords++;
    if (ts > this.#maxRight) {
      this.#maxRight = ts;
      if (this.#fromRecords) this.#updateWatermark();
    }
    if (ts < this.#watermark - this.graceMs) {
      this.#late++;
      const window = { start: ts - this.afterMs, end: ts + this.beforeMs + 1 };
      this.#out.push({ ...lateRecord(record, [window], this.#watermark), side: 'right' });
      return;
    }
    const key = this.#rightKey(record);
    const low = ts - this.afterMs;
    const high = ts + this.beforeMs;
    const probe = this.#probeKeys;
    if (probe === undefined) this.#matchRight(record, this.#left.get(key), low, high);
    else for (const k of probe(key)) this.#matchRight(record, this.#left.get(k), low, high);
    let buffer = this.#right.get(key);
    if (buffer === undefined) {
      buffer = [];
      this.#right.set(key, buffer);
    }
    buffer.push(record);
    this.#buffered++;
  }

  #matchLeft(left: SourceRecord<L>, rights: SourceRecord<R>[] | undefined, low: number, high: number): void {
    if (rights === undefined) return;
    const where = this.#where;
    for (let i = 0; i < rights.length; i++) {
      const right = rights[i]!;
      const t = right.timestamp;
      if (t < low || t > high || (where !== undefined && !where(left, right))) continue;
      this.#out.push({ kind: 'joined', value: this.#join(left, right) });
      this.#joined++;
    }
  }

  #matchRight(right: SourceRecord<R>, lefts: SourceRecord<L>[] | undefined, low: number, high: number): void {
    if (lefts === undefined) return;
    const where = this.#where;
    for (let i = 0; i < lefts.length; i++) {
      const left = lefts[i]!;
      const t = left.timestamp;
      if (t < low || t > high || (where !== undefined && !where(left, right))) continue;
      this.#out.push({ kind: 'joined', value: this.#join(left, right) });
      this.#joined++;
    }
  }

  #updateWatermark(): void {
    let candidate = this.#external;
    if (this.#fromRecords) {
      const records = Math.min(this.#maxLeft, this.#maxRight) - this.#outOfOrderness;
      if (records > candidate) candidate = records;
    }
    if (!(candidate > this.#watermark)) return;
    this.#watermark = candidate;
    const closeTime = candidate - this.graceMs;
    if (closeTime >= this.#nextSweep) {
      this.#sweep(this.#left, closeTime - this.afterMs);
      this.#sweep(this.#right, closeTime - this.beforeMs);
      this.#nextSweep = closeTime + this.#sweepEvery;
    }
  }

  /** Drops buffered records with `timestamp < limit`. */
  #sweep<X>(buffer: Map<K, SourceRecord<X>[]>, limit: number): void {
    for (const [key, records] of buffer) {
      let kept = 0;
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (r.timestamp >= limit) records[kept++] = r;
      }
      this.#buffered -= records.length - kept;
      if (kept === 0) buffer.delete(key);
      else records.length = kept;
    }
  }

  #finish(): IntervalJoinOutput<L, R, O>[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
