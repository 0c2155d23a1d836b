import { defer, Observable, type OperatorFunction } from 'rxjs';
import type { SourceRecord } from '../time/SourceRecord.ts';
import type { StreamInput } from '../time/StreamInput.ts';
import { Watermark } from '../time/Watermark.ts';
import { createWindowProcessor } from './createWindowProcessor.ts';
import type { WindowOutput } from './WindowOutput.ts';
import type { WindowProcessor, WindowProcessorOptions } from './WindowProcessor.ts';
import type { WindowSpec } from './WindowSpec.ts';

/**
 * Event-time window aggregation as an RxJS operator: tumbling, hopping or session windows (by `spec`),
 * per key, with the emit policy, late output and revisions of `WindowProcessor` (one per subscription).
 *
 * - Records: one at a time or in arrays (each array is one `addBatch`, so `'onWindowUpdate'` emits at most one
 *   revision per window and key per array).
 * - `Watermark` elements advance event time (`advanceWatermark`); use them with `watermarks: 'external'`
 *   behind `assignWatermarks()`.
 * - On completion of the source, every open window closes (final results), then the output completes.
 * - Late records come out in the same stream with `kind: 'late'`; nothing is dropped.
 *
 * Errors thrown by `key`, `recordId` or the aggregate (and `INVALID_RECORD` for a non-integer timestamp) go to
 * the subscriber's `error`. Options are validated when the operator is built.
 *
 * @example
 * gps$.pipe(
 *   windowAggregate(TumblingWindows.ofSizeAndGrace(60_000, 5_000), {
 *     key: (r) => r.value.district,
 *     aggregate: count(),
 *     emit: 'onWindowClose',
 *   }),
 * ); // { kind: 'result', key: '440304', start, end, value: 1234, revision: 1, final: true }, ...
 */
export function windowAggregate<T, K, S, R>(
  spec: WindowSpec,
  options: WindowProcessorOptions<T, K, S, R>,
): OperatorFunction<StreamInput<T>, WindowOutput<T, K, R>> {
  createWindowProcessor(spec, options);
  return (source) => defer(() => source.pipe(windowsOf(createWindowProcessor(spec, options))));
}

/**
 * The same operator over a processor the caller keeps, for a caller that also reads the processor's state
 * between elements: its watermark, and the oldest offset its open windows hold (what may be committed).
 * The engine's partition graphs use it. One subscription per processor.
 */
export function windowsOf<T, K, R>(
  processor: WindowProcessor<T, K, R>,
): OperatorFunction<StreamInput<T>, WindowOutput<T, K, R>> {
  return (source) =>
    new Observable<WindowOutput<T, K, R>>((subscriber) => {
      let open = true;
      const run = (step: () => WindowOutput<T, K, R>[]): boolean => {
        let outputs: WindowOutput<T, K, R>[];
        try {
          outputs = step();
        } catch (error) {
          subscriber.error(error);
          return false;
        }
        for (let i = 0; i < outputs.length; i++) subscriber.next(outputs[i]!);
        return true;
      };
      const subscription = source.subscribe({
        next: (input) => {
          if (!open) return;
          if (input instanceof Watermark) run(() => processor.advanceWatermark(input.timestamp));
          else if (Array.isArray(input)) run(() => processor.addBatch(input));
          else run(() => processor.add(input as SourceRecord<T>));
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          if (open && run(() => processor.flush())) subscriber.complete();
        },
      });
      return () => {
        open = false;
        subscription.unsubscribe();
      };
    });
}
