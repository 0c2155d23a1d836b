import type { Aggregate } from '../aggregates/Aggregate.ts';
import type { SourceRecord } from '../time/SourceRecord.ts';
import type { WindowOutput } from './WindowOutput.ts';

/** How window results are emitted (Kafka Streams' `EmitStrategy`). */
export type EmitPolicy = 'onWindowUpdate' | 'onWindowClose';

/** Options of `createWindowProcessor()` and `windowAggregate()`. */
export interface WindowProcessorOptions<T, K, S, R> {
  /** Groups records; windows are kept per key. Keys are compared as `Map` keys: use strings or numbers. */
  readonly key: (record: SourceRecord<T>) => K;
  /** Folds each record's `value` into the window's state (see `operators/aggregates/`). */
  readonly aggregate: Aggregate<T, S, R>;
  /**
   * - `'onWindowUpdate'` (default, as Kafka Streams): after each `add`/`addBatch` call, one result per window
   *   and key that changed (revision +1, `final: false`); when the window closes, one more with `final: true`.
   * - `'onWindowClose'`: one result per window and key when the window closes (revision 1, `final: true`).
   */
  readonly emit?: EmitPolicy;
  /**
   * - `'fromRecords'` (default): the watermark is the largest record timestamp seen minus `outOfOrdernessMs`,
   *   plus whatever `advanceWatermark()` pushes further.
   * - `'external'`: only `advanceWatermark()` (or `Watermark` elements in the stream) moves it, e.g. behind
   *   `assignWatermarks()` that combines partitions.
   */
  readonly watermarks?: 'fromRecords' | 'external';
  /** With `watermarks: 'fromRecords'`: how far behind the largest timestamp the watermark stays, ms. Default 0. */
  readonly outOfOrdernessMs?: number;
  /**
   * Identifies a record for de-duplication: a second record with the same id in the same window and key is not
   * added again and is counted in `stats().duplicateRecords` (not in the late output). Default: no de-duplication.
   */
  readonly recordId?: (record: SourceRecord<T>) => string | number;
}

/** Counters of a window processor since it was created. */
export interface WindowProcessorStats {
  /** Records passed to `add`/`addBatch`. */
  readonly records: number;
  /** Records routed to the late output. */
  readonly lateRecords: number;
  /** Records skipped in at least one window as a repeat of an id already there. */
  readonly duplicateRecords: number;
  /** Results emitted (all revisions). */
  readonly results: number;
  /** Windows (time windows) or sessions currently open. */
  readonly openWindows: number;
  /** Current watermark, epoch ms. */
  readonly watermark: number;
}

/**
 * The synchronous core of a window operator (like Kafka Streams' `KStreamWindowAggregate` processor): no
 * RxJS, no clock, no I/O. Given the same sequence of calls it returns exactly the same outputs, so the engine
 * can drive one per Kafka partition from its main thread and replay deterministically.
 *
 * Every call returns what it emitted, in order: late records and closing (final) results as they happen,
 * then (with `emit: 'onWindowUpdate'`) one updated result per changed window and key. The returned array
 * belongs to the caller.
 *
 * @example
 * const p = createWindowProcessor(TumblingWindows.ofSizeWithNoGrace(60_000), { key: (r) => r.source, aggregate: count() });
 * p.addBatch(records);            // results and late records so far
 * p.advanceWatermark(Date.parse('2024-01-01T00:05:00Z')); // closes windows ending by then
 * commitBelow(p.oldestHeldOffset('gps', 0));
 */
export interface WindowProcessor<T, K, R> {
  /** Adds one record. */
  add(record: SourceRecord<T>): WindowOutput<T, K, R>[];
  /** Adds records in order; with `'onWindowUpdate'`, one update per changed window and key for the whole batch. */
  addBatch(records: readonly SourceRecord<T>[]): WindowOutput<T, K, R>[];
  /** Moves the watermark to `timestamp` (ms) if that is later, closing windows that end by `timestamp - grace`. */
  advanceWatermark(timestamp: number): WindowOutput<T, K, R>[];
  /** Closes every open window (end of input): `advanceWatermark(Infinity)`. */
  flush(): WindowOutput<T, K, R>[];
  /** Current watermark, epoch ms (`-Infinity` before anything is known). */
  readonly watermark: number;
  /**
   * The smallest offset of `source`/`partition` among records still held in open windows, or `undefined` if
   * none is held. The engine may commit offsets below it: every record at or after it may still be needed.
   */
  oldestHeldOffset(source: string, partition: number): number | undefined;
  stats(): WindowProcessorStats;
}
