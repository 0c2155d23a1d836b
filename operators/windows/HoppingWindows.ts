import { invalidOption, requireNonNegativeInteger, requirePositiveInteger } from '../optionInternals.ts';

/**
 * Fixed-size event-time windows `[start, start + sizeMs)` that start every `advanceMs` (aligned to the epoch),
 * so each record falls into `ceil(sizeMs / advanceMs)` windows (Kafka Streams'
 * `TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance)`). A window closes once
 * `watermark - graceMs >= end`; a record is late for each of its windows that is closed.
 *
 * Instances are validated (`0 < advanceMs <= sizeMs`, integers in ms) and frozen.
 *
 * @example
 * HoppingWindows.ofSizeAdvanceAndGrace(300_000, 60_000, 10_000); // 5-minute windows every minute, 10 s grace
 */
export class HoppingWindows {
  readonly kind = 'hopping' as const;
  /** Window length, ms. */
  readonly sizeMs: number;
  /** Distance between window starts, ms. */
  readonly advanceMs: number;
  /** How long after the watermark passes a window's end the window still accepts records, ms. */
  readonly graceMs: number;

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    this.sizeMs = requirePositiveInteger('options.size', sizeMs);
    this.advanceMs = requirePositiveInteger('options.advance', advanceMs);
    if (advanceMs > sizeMs)
      throw invalidOption('options.advance', `at most options.size (${sizeMs} ms)`, advanceMs);
    this.graceMs = requireNonNegativeInteger('options.grace', graceMs);
    Object.freeze(this);
  }

  /** Windows of `sizeMs` every `advanceMs` that accept records until the watermark is `graceMs` past their end. */
  static ofSizeAdvanceAndGrace(sizeMs: number, advanceMs: number, graceMs: number): HoppingWindows {
    return new HoppingWindows(sizeMs, advanceMs, graceMs);
  }

  /** Windows of `sizeMs` every `advanceMs` that close as soon as the watermark reaches their end. */
  static ofSizeAndAdvanceWithNoGrace(sizeMs: number, advanceMs: number): HoppingWindows {
    return new HoppingWindows(sizeMs, advanceMs, 0);
  }

  /** Every window `[start, end)` containing event time `timestamp` (ms), earliest first. */
  windowsFor(timestamp: number): { readonly start: number; readonly end: number }[] {
    const out: { start: number; end: number }[] = [];
    for (
      let start = firstStart(timestamp, this.sizeMs, this.advanceMs);
      start <= timestamp;
      start += this.advanceMs
    ) {
      out.push({ start, end: start + this.sizeMs });
    }
    return out;
  }

  toString(): string {
    return `HoppingWindows(size=${this.sizeMs}ms, advance=${this.advanceMs}ms, grace=${this.graceMs}ms)`;
  }
}

/** The earliest start (a multiple of `advance`) of a window of `size` containing `timestamp`. */
function firstStart(timestamp: number, size: number, advance: number): number {
  const lowest = timestamp - size + 1;
  let offset = lowest % advance;
  if (offset < 0) offset += advance;
  return offset === 0 ? lowest : lowest - offset + advance;
}
