import type { Logger } from 'pino';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { Finalizer, FinalizerTick } from './finalizer.ts';

/**
 * When the finalizer runs: a round every `intervalMs`, and rounds back to back while the joined layer is
 * behind, the last round moved it, and the engine is not catching up on its input (`catchingUp`). A round
 * does a bounded amount of work (so a stop is quick); one round per interval left the joined layer 40 s
 * behind the windows after a replay of 2 M events. While the engine catches up, the windows and the live
 * map come first: back-to-back rounds during a full day's replay took CPU from it and the publisher.
 */
export class FinalizerSchedule {
  readonly #finalizer: Finalizer;
  readonly #metrics: EngineMetrics;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #round: Promise<void> | undefined;
  #stopped = false;
  /** The last round's result, to tell whether the next one moved. */
  #last: FinalizerTick | undefined;

  readonly #catchingUp: () => boolean;

  constructor(
    finalizer: Finalizer,
    intervalMs: number,
    metrics: EngineMetrics,
    log: Logger,
    catchingUp: () => boolean = () => false,
  ) {
    this.#finalizer = finalizer;
    this.#catchingUp = catchingUp;
    this.#metrics = metrics;
    this.#log = log;
    this.#timer = setInterval(() => {
      if (this.#round) return;
      this.#round = this.#whileBehind()
        .catch((error: unknown) => this.#log.warn({ err: error }, 'finalizer tick failed; retrying'))
        .finally(() => {
          this.#round = undefined;
        });
    }, intervalMs);
  }

  /** Starts no more rounds, and makes the round under way stop after its current statement. */
  halt(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#finalizer.requestStop();
  }

  /** Halts, waits for the round under way, then closes the finalizer. */
  async stop(): Promise<void> {
    this.halt();
    await this.#round;
    await this.#finalizer.close();
  }

  async #whileBehind(): Promise<void> {
    while (!this.#stopped) {
      const done = await this.#finalizer.tick();
      for (const [table, ms] of Object.entries(done?.behindMs ?? {}))
        this.#metrics.finalizerBehind.set({ table }, ms / 1000);
      if (done === undefined) return;
      if (done.watermark !== undefined) this.#metrics.finalizerWatermark.set(done.watermark / 1000);
      const last = this.#last;
      this.#last = done;
      if (!done.behindMs || done.behindMs.district_pulse + done.behindMs.incident_impact === 0) return;
      // Compared with the round before, of this burst or the one before it: a finalizer that cannot move
      // runs one round per interval, not two.
      const moved =
        last === undefined ||
        done.pulseThrough > last.pulseThrough ||
        done.impactThrough > last.impactThrough;
      if (!moved || this.#catchingUp()) return;
    }
  }
}
