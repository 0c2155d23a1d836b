import { Observable, type OperatorFunction } from 'rxjs';
import type { SourceRecord } from '../../time/SourceRecord.ts';
import type { StreamInput } from '../../time/StreamInput.ts';
import { Watermark } from '../../time/Watermark.ts';
import {
  type IntervalJoinOptions,
  type IntervalJoinOutput,
  IntervalJoinProcessor,
} from './IntervalJoinProcessor.ts';

/**
 * Interval join of two keyed streams as an RxJS operator around `IntervalJoinProcessor` (one per
 * subscription): the source is the left side, `right` the right side; a pair matches when
 * `left.timestamp - beforeMs <= right.timestamp <= left.timestamp + afterMs` (inclusive) and the keys match.
 *
 * Both inputs take records, batches (arrays) and `Watermark`s; a side's `Watermark`s are combined with the
 * other side's by minimum before they reach the core (use `watermarks: 'external'` to rely only on them).
 * The output completes when both inputs have completed; an error on either side errors it; errors thrown by
 * `leftKey`, `rightKey`, `probeKeys`, `where` or `join` go to the subscriber's `error`.
 *
 * @example
 * incidents$.pipe(
 *   intervalJoin(reports$, {
 *     beforeMs: 60_000, afterMs: 300_000,
 *     leftKey: (i) => i.value.gridCell, rightKey: (r) => r.value.gridCell,
 *     join: (i, r) => ({ incident: i.value.id, report: r.value.id }),
 *   }),
 * );
 */
export function intervalJoin<L, R, K, O>(
  right: Observable<StreamInput<R>>,
  options: IntervalJoinOptions<L, R, K, O>,
): OperatorFunction<StreamInput<L>, IntervalJoinOutput<L, R, O>> {
  new IntervalJoinProcessor(options);
  return (left) =>
    new Observable<IntervalJoinOutput<L, R, O>>((subscriber) => {
      let processor: IntervalJoinProcessor<L, R, K, O> | undefined = new IntervalJoinProcessor(options);
      const marks = { left: Number.NEGATIVE_INFINITY, right: Number.NEGATIVE_INFINITY };
      let open = 2;

      const handle = (side: 'left' | 'right', input: StreamInput<L> | StreamInput<R>): void => {
        const p = processor;
        if (p === undefined) return;
        let outputs: IntervalJoinOutput<L, R, O>[];
        try {
          if (input instanceof Watermark) {
            marks[side] = Math.max(marks[side], input.timestamp);
            outputs = p.advanceWatermark(Math.min(marks.left, marks.right));
          } else if (side === 'left') {
            outputs = Array.isArray(input)
              ? p.addLeftBatch(input as readonly SourceRecord<L>[])
              : p.addLeft(input as SourceRecord<L>);
          } else {
            outputs = Array.isArray(input)
              ? p.addRightBatch(input as readonly SourceRecord<R>[])
              : p.addRight(input as SourceRecord<R>);
          }
        } catch (error) {
          subscriber.error(error);
          return;
        }
        for (let i = 0; i < outputs.length; i++) subscriber.next(outputs[i]!);
      };
      const completeOne = (): void => {
        if (--open === 0) subscriber.complete();
      };

      const rightSubscription = right.subscribe({
        next: (input) => handle('right', input),
        error: (error) => subscriber.error(error),
        complete: completeOne,
      });
      const leftSubscription = left.subscribe({
        next: (input) => handle('left', input),
        error: (error) => subscriber.error(error),
        complete: completeOne,
      });
      return () => {
        leftSubscription.unsubscribe();
        rightSubscription.unsubscribe();
        processor = undefined;
      };
    });
}
