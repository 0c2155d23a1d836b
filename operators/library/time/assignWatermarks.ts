import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { SourceRecord } from '../../time/SourceRecord.ts';
import { Watermark } from '../../time/Watermark.ts';
import { WatermarkCombiner, type WatermarkCombinerOptions } from './WatermarkCombiner.ts';

export interface AssignWatermarksOptions extends WatermarkCombinerOptions {
  /** Drives the idle timeout (its `now()` and timers). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Passes records (single or in batches) through unchanged and inserts a `Watermark` after them whenever the
 * combined watermark of their partitions advances: per-partition bounded out-of-orderness, combined by
 * minimum, with idle partitions left out after `idleTimeoutMs` of scheduler time (see `WatermarkCombiner`).
 *
 * Downstream operators that should follow these watermarks rather than the raw record times take
 * `watermarks: 'external'` (e.g. `windowAggregate`).
 *
 * @example
 * records$.pipe(
 *   assignWatermarks({ outOfOrdernessMs: 2_000, idleTimeoutMs: 30_000 }),
 *   windowAggregate(TumblingWindows.ofSizeAndGrace(60_000, 10_000), { ...options, watermarks: 'external' }),
 * );
 */
export function assignWatermarks<T>(
  options: AssignWatermarksOptions = {},
): OperatorFunction<
  SourceRecord<T> | readonly SourceRecord<T>[],
  SourceRecord<T> | readonly SourceRecord<T>[] | Watermark
> {
  const scheduler = options.scheduler ?? asyncScheduler;
  // Validates the options once, at construction.
  new WatermarkCombiner(options, 0);
  return (source) =>
    new Observable((subscriber) => {
      let combiner: WatermarkCombiner | undefined = new WatermarkCombiner(options, scheduler.now());
      let timer: Subscription | undefined;

      const armIdleTimer = (): void => {
        if (timer !== undefined || combiner === undefined) return;
        const deadline = combiner.nextIdleDeadline();
        if (deadline === undefined) return;
        timer = scheduler.schedule(
          () => {
            timer = undefined;
            if (combiner === undefined) return;
            if (combiner.markIdle(scheduler.now())) subscriber.next(new Watermark(combiner.current));
            armIdleTimer();
          },
          Math.max(0, deadline - scheduler.now()),
        );
      };

      armIdleTimer();
      const subscription = source.subscribe({
        next: (input) => {
          if (combiner === undefined) return;
          let advanced = false;
          try {
            const now = scheduler.now();
            if (isBatch(input)) {
              for (const record of input) {
                if (combiner.observe(record.source, record.partition, record.timestamp, now)) advanced = true;
              }
            } else {
              advanced = combiner.observe(input.source, input.partition, input.timestamp, now);
            }
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(input);
          if (advanced) subscriber.next(new Watermark(combiner.current));
          armIdleTimer();
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
        timer = undefined;
        combiner = undefined;
      };
    });
}

function isBatch<T>(
  input: SourceRecord<T> | readonly SourceRecord<T>[],
): input is readonly SourceRecord<T>[] {
  return Array.isArray(input);
}
