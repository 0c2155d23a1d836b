import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { assignWatermarks } from '../../../../operators/library/time/assignWatermarks.ts';
import { Watermark } from '../../../../operators/time/Watermark.ts';
import { TumblingWindows } from '../../../../operators/windows/TumblingWindows.ts';
import { windowAggregate } from '../../../../operators/windows/windowAggregate.ts';
import { rec } from '../testRecords.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const show = (x: unknown) =>
  x instanceof Watermark
    ? `W${x.timestamp}`
    : Array.isArray(x)
      ? `[${x.length}]`
      : `r${(x as { timestamp: number }).timestamp}`;
const expected = [
  { source: 's', partition: 0 },
  { source: 's', partition: 1 },
];

describe('assignWatermarks', () => {
  it('waits for expected partitions, combines by minimum, and lets an idle partition go after the timeout', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b 9ms c 39ms d 9ms |', {
        a: rec(100, 'x', { partition: 0 }),
        b: rec(50, 'x', { partition: 1 }),
        c: rec(120, 'x', { partition: 1 }),
        d: rec(200, 'x', { partition: 1 }),
      });
      const output = source.pipe(
        assignWatermarks({ idleTimeoutMs: 30, expectedSources: expected }),
        map(show),
      );
      // 0: partition 1 expected, nothing yet. 10: W50. 20: W100 (partition 0 holds it). 30: partition 0 idle
      // for 30 ms -> W120. 50: partition 1 idle too -> nothing moves. 60: partition 1 back -> W200.
      expectObservable(output).toBe('a 9ms (bc) 6ms (de) 6ms f 29ms (gh) 6ms |', {
        a: 'r100',
        b: 'r50',
        c: 'W50',
        d: 'r120',
        e: 'W100',
        f: 'W120',
        g: 'r200',
        h: 'W200',
      });
    });
  });

  it('passes batches through and lets windows close when a quiet partition goes idle', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b 39ms |', {
        a: [rec(10, 'x', { partition: 0 })],
        b: [rec(150, 'x', { partition: 1 })],
      });
      const output = source.pipe(
        assignWatermarks({ idleTimeoutMs: 30, expectedSources: expected }),
        windowAggregate(TumblingWindows.ofSizeWithNoGrace(100), {
          key: (r) => r.value,
          aggregate: count(),
          emit: 'onWindowClose',
          watermarks: 'external',
        }),
        map((o) => (o.kind === 'result' ? `[${o.start},${o.end})=${o.value}` : 'late')),
      );
      expectObservable(output).toBe('30ms r 19ms (s|)', { r: '[0,100)=1', s: '[100,200)=1' });
    });
  });

  it('uses the scheduler it is given and stops its timer on unsubscribe', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('a', { a: rec(5, 'x', { partition: 0 }) });
      const output = source.pipe(
        assignWatermarks({ idleTimeoutMs: 10, scheduler: testScheduler }),
        map(show),
      );
      expectObservable(output, '^ 4ms !').toBe('(ab)', { a: 'r5', b: 'W5' });
    });
    expect(testScheduler.actions).toHaveLength(0);
  });

  it('rejects a negative idle timeout', () => {
    expect(() => assignWatermarks({ idleTimeoutMs: -1 })).toThrow(
      'options.idleTimeoutMs must be a non-negative integer',
    );
  });
});
