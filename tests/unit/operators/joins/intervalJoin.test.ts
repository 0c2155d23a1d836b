import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { intervalJoin } from '../../../../operators/library/joins/intervalJoin.ts';
import { Watermark } from '../../../../operators/time/Watermark.ts';
import { rec } from '../testRecords.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const options = {
  beforeMs: 0,
  afterMs: 10,
  leftKey: (r: { value: string }) => r.value[0]!,
  rightKey: (r: { value: string }) => r.value[0]!,
  join: (l: { value: string }, r: { value: string }) => `${l.value}+${r.value}`,
};

describe('intervalJoin', () => {
  it('emits each pair when its second record arrives, whichever side it is on, and completes after both', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const left = cold('a---b---|', { a: rec(100, 'k1'), b: rec(120, 'k2') });
      const right = cold('--x---y-----|', { x: rec(105, 'k-x'), y: rec(125, 'k-y') });
      const output = left.pipe(
        intervalJoin(right, options),
        map((o) => (o.kind === 'joined' ? o.value : `late ${o.side}`)),
      );
      // 105 joins k1 (100..110); 125 joins k2 (120..130) but not k1.
      expectObservable(output).toBe('--a---b-----|', { a: 'k1+k-x', b: 'k2+k-y' });
    });
  });

  it('combines the two sides’ watermarks by minimum and reports late records', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const left = cold('a-w----b|', { a: rec(100, 'k1'), w: new Watermark(200), b: rec(150, 'k2') });
      const right = cold('---v-x--|', { v: new Watermark(160), x: rec(155, 'k-x') });
      const output = left.pipe(
        intervalJoin(right, { ...options, watermarks: 'external' }),
        map((o) => (o.kind === 'joined' ? o.value : `late ${o.side}@${o.timestamp} wm ${o.watermark}`)),
      );
      expectObservable(output).toBe('-----x-b|', { x: 'late right@155 wm 160', b: 'late left@150 wm 160' });
    });
  });

  it('errors when a key function throws and unsubscribes both inputs', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const left = cold('a-|', { a: rec(1, '') });
      const right = cold<ReturnType<typeof rec<string>>>('---|');
      const output = left.pipe(
        intervalJoin(right, {
          ...options,
          leftKey: () => {
            throw new Error('no key');
          },
        }),
      );
      expectObservable(output).toBe('#', undefined, new Error('no key'));
      expectSubscriptions(right.subscriptions).toBe('(^!)');
    });
  });
});
