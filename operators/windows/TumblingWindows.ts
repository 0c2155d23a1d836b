import { requireNonNegativeInteger, requirePositiveInteger } from '../optionInternals.ts';

/**
 * Fixed-size, non-overlapping event-time windows `[start, start + sizeMs)`, aligned to the epoch
 * (`start` is a multiple of `sizeMs`). The factory's name states the lateness decision (Kafka Streams'
 * `TimeWindows.ofSizeAndGrace` / `ofSizeWithNoGrace`): a window closes once `watermark - graceMs >= end`;
 * a record for a closed window goes to the late output.
 *
 * Instances are validated and frozen. Sizes are integers in milliseconds.
 *
 * @example
 * TumblingWindows.ofSizeAndGrace(60_000, 10_000); // one-minute windows, records up to 10 s late still count
 * TumblingWindows.ofSizeWithNoGrace(60_000);      // closed as soon as the watermark passes the end
 */
export class TumblingWindows {
  readonly kind = 'tumbling' as const;
  /** Window length, ms. */
  readonly sizeMs: number;
  /** Distance between window starts, ms; equals `sizeMs` for tumbling windows. */
  readonly advanceMs: number;
  /** How long after the watermark passes a window's end the window still accepts records, ms. */
  readonly graceMs: number;

  private constructor(sizeMs: number, graceMs: number) {
    this.sizeMs = requirePositiveInteger('options.size', sizeMs);
    this.advanceMs = sizeMs;
    this.graceMs = requireNonNegativeInteger('options.grace', graceMs);
    Object.freeze(this);
  }

  /** Windows of `sizeMs` that accept records until the watermark is `graceMs` past their end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TumblingWindows {
    return new TumblingWindows(sizeMs, graceMs);
  }

  /** Windows of `sizeMs` that close as soon as the watermark reaches their end. */
  static ofSizeWithNoGrace(sizeMs: number): TumblingWindows {
    return new TumblingWindows(sizeMs, 0);
  }

  /** The one window `[start, end)` containing event time `timestamp` (ms). */
  windowFor(timestamp: number): { readonly start: number; readonly end: number } {
    let offset = timestamp % this.sizeMs;
    if (offset < 0) offset += this.sizeMs;
    const start = timestamp - offset;
    return { start, end: start + this.sizeMs };
  }

  toString(): string {
    return `TumblingWindows(size=${this.sizeMs}ms, grace=${this.graceMs}ms)`;
  }
}
