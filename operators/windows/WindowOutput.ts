import type { SourceRecord } from '../time/SourceRecord.ts';

/** A half-open event-time interval `[start, end)`, epoch ms. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * One emission of a window's aggregate for one key.
 *
 * `revision` is 1 for the first emission of that window and key and grows by one with each later emission, so
 * a store keeps the row with the highest revision (e.g. ClickHouse `ReplacingMergeTree(revision)`). `final`
 * is true for the emission made when the window closed; nothing follows it.
 *
 * For session windows, whose extent grows and merges, `replaces` lists extents of the same key emitted
 * earlier that this result supersedes (a store deletes them); it is absent for time windows and when empty.
 */
export interface WindowResult<K, R> {
  readonly kind: 'result';
  readonly key: K;
  /** Window start, epoch ms (inclusive). */
  readonly start: number;
  /** Window end, epoch ms (exclusive). */
  readonly end: number;
  readonly value: R;
  readonly revision: number;
  readonly final: boolean;
  readonly replaces?: readonly TimeWindow[];
}

/**
 * A record that arrived for windows already closed (behind `watermark - grace`): routed here with its
 * coordinates, never dropped. `windows` lists the closed windows it belonged to (for hopping windows, a record
 * may be late for its earliest windows and still counted in later ones; for sessions, its own
 * `[timestamp, timestamp + gap)`; for joins, the interval it could have matched).
 */
export interface LateRecord<T> {
  readonly kind: 'late';
  readonly source: string;
  readonly partition: number;
  readonly offset: number;
  /** The record's event time, epoch ms. */
  readonly timestamp: number;
  readonly windows: readonly TimeWindow[];
  /** The watermark when the record arrived, epoch ms. */
  readonly watermark: number;
  readonly record: SourceRecord<T>;
}

/**
 * What a window operator emits: results and late records in one ordered stream, told apart by `kind`.
 *
 * @example
 * output$.pipe(filter((o): o is WindowResult<string, number> => o.kind === 'result'));
 */
export type WindowOutput<T, K, R> = WindowResult<K, R> | LateRecord<T>;
