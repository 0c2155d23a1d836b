import { requireNonNegativeInteger, requirePositiveInteger } from '../optionInternals.ts';

/**
 * Per-key activity sessions: records of one key less than `gapMs` apart belong to the same session; a gap of
 * `gapMs` or more with no record ends it. A session is the half-open window `[first timestamp, last timestamp +
 * gapMs)`, i.e. the union of `[t, t + gapMs)` over its records; sessions that come to overlap merge.
 * (Kafka Streams and Flink also merge records exactly `gapMs` apart; here `[t, t + gap)` and `[t + gap, ...)`
 * do not overlap, which keeps the half-open rule without exceptions.)
 *
 * A session closes once `watermark - graceMs >= end`. As in Kafka Streams and Flink, closed sessions are not
 * kept: a record whose own `[t, t + gapMs)` is still open starts or extends a session even if a closed session
 * lies less than `gapMs` before it. Instances are validated and frozen.
 *
 * @example
 * SessionWindows.ofInactivityGapAndGrace(300_000, 30_000); // a vehicle's trip ends after 5 min without a ping
 */
export class SessionWindows {
  readonly kind = 'session' as const;
  /** Inactivity gap that ends a session, ms. */
  readonly gapMs: number;
  /** How long after the watermark passes a session's end the session still accepts records, ms. */
  readonly graceMs: number;

  private constructor(gapMs: number, graceMs: number) {
    this.gapMs = requirePositiveInteger('options.gap', gapMs);
    this.graceMs = requireNonNegativeInteger('options.grace', graceMs);
    Object.freeze(this);
  }

  /** Sessions ended by `gapMs` of inactivity that accept records until the watermark is `graceMs` past their end. */
  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(gapMs, graceMs);
  }

  /** Sessions ended by `gapMs` of inactivity that close as soon as the watermark reaches their end. */
  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return new SessionWindows(gapMs, 0);
  }

  toString(): string {
    return `SessionWindows(gap=${this.gapMs}ms, grace=${this.graceMs}ms)`;
  }
}
