/**
 * A watermark travelling in a stream beside records: the promise that no more records with
 * `timestamp < watermark.timestamp` are expected (records that still come are late).
 *
 * `assignWatermarks()` emits these between records; `windowAggregate()` and `intervalJoin()` accept them in
 * their input and advance their event time with them. Instances are frozen.
 *
 * @example
 * of(new Watermark(60_000)).pipe(windowAggregate(spec, options)); // closes windows ending at or before 60 s
 */
export class Watermark {
  /** Event time, epoch milliseconds. May be `-Infinity` (nothing known yet) or `Infinity` (end of input). */
  readonly timestamp: number;

  constructor(timestamp: number) {
    this.timestamp = timestamp;
    Object.freeze(this);
  }

  toString(): string {
    return `Watermark(${this.timestamp})`;
  }
}
