/**
 * The envelope every operator in `operators/` reads: a value with the coordinates of where it came from
 * and when it happened.
 *
 * - `source`: the stream's name (for Kafka, the topic).
 * - `partition`: the partition within the source (Kafka partition; 0 for unpartitioned sources).
 * - `offset`: the record's position within that partition (Kafka offset); increases with arrival order.
 * - `timestamp`: event time, epoch milliseconds (integer), taken from the record itself, never from the clock.
 * - `value`: the decoded payload.
 *
 * Late outputs, dead letters and `oldestHeldOffset()` report records by `source`, `partition` and `offset`,
 * so the engine can log them and commit only offsets whose records are no longer held in operator state.
 *
 * @example
 * const record: SourceRecord<{ speedKmh: number }> = {
 *   source: 'transport.gps', partition: 3, offset: 1042, timestamp: 1_700_000_000_000, value: { speedKmh: 42 },
 * };
 */
export interface SourceRecord<T> {
  readonly source: string;
  readonly partition: number;
  readonly offset: number;
  /** Event time, epoch milliseconds. */
  readonly timestamp: number;
  readonly value: T;
}
