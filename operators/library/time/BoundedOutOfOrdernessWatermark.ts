import { requireNonNegativeInteger } from '../../optionInternals.ts';

/**
 * Event-time watermark of one stream with bounded out-of-orderness: `watermark = max event time seen -
 * outOfOrdernessMs` (Flink's `WatermarkStrategy.forBoundedOutOfOrderness`). Purely event-driven: the same
 * sequence of timestamps always yields the same watermarks, so replays are deterministic.
 *
 * The watermark never goes back. Before the first record it is `-Infinity`.
 *
 * @example
 * const wm = new BoundedOutOfOrdernessWatermark(5_000); // tolerate records up to 5 s out of order
 * wm.observe(60_000); // true: advanced
 * wm.current;         // 55_000
 * wm.observe(58_000); // false: an older record does not move it
 */
export class BoundedOutOfOrdernessWatermark {
  /** Delay of the watermark behind the largest event time seen, ms. */
  readonly outOfOrdernessMs: number;
  #current = Number.NEGATIVE_INFINITY;
  #maxTimestamp = Number.NEGATIVE_INFINITY;

  /** @param outOfOrdernessMs non-negative integer, ms (default 0: the watermark is the largest event time seen). */
  constructor(outOfOrdernessMs = 0) {
    this.outOfOrdernessMs = requireNonNegativeInteger('options.outOfOrdernessMs', outOfOrdernessMs);
  }

  /** The current watermark, epoch ms (`-Infinity` before the first record). */
  get current(): number {
    return this.#current;
  }

  /** The largest event time seen, epoch ms (`-Infinity` before the first record). */
  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }

  /** Takes a record's event time into account; returns whether the watermark advanced. */
  observe(timestamp: number): boolean {
    if (timestamp <= this.#maxTimestamp) return false;
    this.#maxTimestamp = timestamp;
    const next = timestamp - this.outOfOrdernessMs;
    if (next <= this.#current) return false;
    this.#current = next;
    return true;
  }
}
