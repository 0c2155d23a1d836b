import { map, Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { Watermark } from '../../../../operators/time/Watermark.ts';
import { HoppingWindows } from '../../../../operators/windows/HoppingWindows.ts';
import { SessionWindows } from '../../../../operators/windows/SessionWindows.ts';
import { TumblingWindows } from '../../../../operators/windows/TumblingWindows.ts';
import { windowAggregate } from '../../../../operators/windows/windowAggregate.ts';
import { rec } from '../testRecords.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const key = (r: { value: string }) => r.value;

describe('windowAggregate', () => {
  it('emits a tumbling count when a later record closes the window, and the rest on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a = rec(1, 'x', { offset: 0 });
      const b = rec(5, 'x', { offset: 1 });
      const c = rec(12, 'x', { offset: 2 });
      const source = cold('a-b--c---|', { a, b, c });
      const output = source.pipe(
        windowAggregate(TumblingWindows.ofSizeWithNoGrace(10), {
          key,
          aggregate: count(),
          emit: 'onWindowClose',
        }),
      );
      expectObservable(output).toBe('-----r---(s|)', {
        r: { kind: 'result', key: 'x', start: 0, end: 10, value: 2, revision: 1, final: true },
        s: { kind: 'result', key: 'x', start: 10, end: 20, value: 1, revision: 1, final: true },
      });
    });
  });

  it('emits revisions on every update and a late record in the same stream (onWindowUpdate)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a = rec(1, 'x', { offset: 0 });
      const b = rec(15, 'x', { offset: 1 });
      const c = rec(4, 'x', { offset: 2 });
      const output = cold('a-----b-----c-----|', { a, b, c }).pipe(
        windowAggregate(TumblingWindows.ofSizeAndGrace(10, 2), { key, aggregate: count() }),
        map((o) =>
          o.kind === 'late' ? `late@${o.offset}` : `${o.start}:${o.value}#${o.revision}${o.final ? '!' : ''}`,
        ),
      );
      expectObservable(output).toBe('a-----(bc)--d-----(e|)', {
        a: '0:1#1',
        b: '0:1#2!', // watermark 15 closes [0,10) (grace 2)
        c: '10:1#1',
        d: 'late@2',
        e: '10:1#2!',
      });
    });
  });

  it('takes batches and external watermarks', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const batch = [rec(1, 'x'), rec(2, 'y'), rec(25, 'x')];
      const output = cold('a-w-------|', { a: batch, w: new Watermark(30) }).pipe(
        windowAggregate(HoppingWindows.ofSizeAdvanceAndGrace(20, 10, 0), {
          key,
          aggregate: count(),
          emit: 'onWindowClose',
          watermarks: 'external',
        }),
        map((o) => (o.kind === 'result' ? `${o.key}[${o.start},${o.end})=${o.value}` : 'late')),
      );
      // The watermark at 30 closes every window ending by 30; [20,40) closes on completion.
      expectObservable(output).toBe('--(abcdf)-(e|)', {
        a: 'x[-10,10)=1',
        b: 'y[-10,10)=1',
        c: 'x[0,20)=1',
        d: 'y[0,20)=1',
        f: 'x[10,30)=1',
        e: 'x[20,40)=1',
      });
    });
  });

  it('closes sessions on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const output = cold('ab|', { a: rec(0, 'x'), b: rec(3, 'x') }).pipe(
        windowAggregate(SessionWindows.ofInactivityGapWithNoGrace(5), {
          key,
          aggregate: count(),
          emit: 'onWindowClose',
        }),
        map((o) => (o.kind === 'result' ? `[${o.start},${o.end})=${o.value}` : 'late')),
      );
      expectObservable(output).toBe('--(a|)', { a: '[0,8)=2' });
    });
  });

  it('sends errors thrown by the key function to the subscriber and unsubscribes the source', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c|', { a: rec(1, 'x'), b: rec(2, 'boom'), c: rec(3, 'x') });
      const output = source.pipe(
        windowAggregate(TumblingWindows.ofSizeWithNoGrace(10), {
          key: (r) => {
            if (r.value === 'boom') throw new Error('bad key');
            return r.value;
          },
          aggregate: count(),
          emit: 'onWindowClose',
        }),
      );
      expectObservable(output).toBe('--#', undefined, new Error('bad key'));
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('validates options when the operator is built', () => {
    expect(() =>
      windowAggregate(TumblingWindows.ofSizeWithNoGrace(10), {
        key,
        aggregate: count(),
        emit: 'sometimes' as 'onWindowClose',
      }),
    ).toThrow("options.emit must be one of 'onWindowUpdate', 'onWindowClose', got \"sometimes\"");
  });

  it('keeps separate state per subscription and releases it on unsubscribe', () => {
    const op = windowAggregate(TumblingWindows.ofSizeWithNoGrace(10), {
      key,
      aggregate: count(),
      emit: 'onWindowClose',
    });
    let teardowns = 0;
    const source = new Observable<ReturnType<typeof rec<string>>>((s) => {
      s.next(rec(1, 'x'));
      s.next(rec(2, 'x'));
      s.complete();
      return () => teardowns++;
    });
    const seen: unknown[] = [];
    source.pipe(op).subscribe((o) => seen.push(o));
    source.pipe(op).subscribe((o) => seen.push(o));
    expect(seen).toHaveLength(2);
    expect(seen.every((o) => (o as { value: number }).value === 2)).toBe(true);
    expect(teardowns).toBe(2);
  });
});
