import type { FanoutOptions } from './fanoutOptions.ts';

/**
 * When the hub flushes (FanoutOptions): once the input has been quiet for `quietMs`, and at the latest
 * `tickMs` after the first pending change, never two flushes closer than `minFlushIntervalMs`. So a burst
 * (one engine tick) goes out as one delta per topic, and a steady stream once per tick.
 */
export class FlushSchedule {
  #timer: NodeJS.Timeout | undefined;
  #lastFlush = 0;
  #lastChangeAt = 0;
  /** When the oldest unflushed change arrived (0: nothing pending). */
  #firstPendingAt = 0;

  constructor(
    private readonly options: Pick<FanoutOptions, 'quietMs' | 'tickMs' | 'minFlushIntervalMs'>,
    private readonly flush: () => void,
  ) {}

  /** A change is pending: a flush is armed if none is. */
  changed(): void {
    const now = Date.now();
    this.#lastChangeAt = now;
    if (this.#firstPendingAt === 0) this.#firstPendingAt = now;
    if (!this.#timer) this.#arm(now);
  }

  /** The flush is under way (by the timer or at once): nothing is pending from here. */
  flushing(now: number): void {
    this.#lastFlush = now;
    this.#firstPendingAt = 0;
  }

  /** Disarms the timer (a flush now, or the hub stopping). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(now: number): void {
    const { quietMs, tickMs, minFlushIntervalMs } = this.options;
    const due = Math.max(
      Math.min(this.#lastChangeAt + quietMs, this.#firstPendingAt + tickMs),
      this.#lastFlush + minFlushIntervalMs,
    );
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const at = Date.now();
        const quiet = at - this.#lastChangeAt >= quietMs;
        const overdue = at - this.#firstPendingAt >= tickMs;
        if ((quiet || overdue) && at - this.#lastFlush >= minFlushIntervalMs) this.flush();
        else this.#arm(at);
      },
      Math.max(0, due - now),
    );
  }
}
