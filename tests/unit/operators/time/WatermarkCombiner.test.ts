import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatermarkCombiner } from '../../../../operators/library/time/WatermarkCombiner.ts';

describe('WatermarkCombiner', () => {
  it('combines partitions by minimum', () => {
    const c = new WatermarkCombiner({ outOfOrdernessMs: 1_000, idleTimeoutMs: Number.POSITIVE_INFINITY });
    expect(c.observe('gps', 0, 10_000, 0)).toBe(true);
    expect(c.current).toBe(9_000);
    expect(c.observe('gps', 1, 5_000, 0)).toBe(false); // the minimum does not go back
    expect(c.current).toBe(9_000);
    expect(c.observe('gps', 0, 20_000, 0)).toBe(false); // partition 1 holds it at 4 000 -> still 9 000
    expect(c.observe('gps', 1, 15_000, 0)).toBe(true);
    expect(c.current).toBe(14_000);
    expect(c.nextIdleDeadline()).toBeUndefined();
  });

  it('stops counting a partition idle for idleTimeoutMs, and counts it again when it delivers', () => {
    const c = new WatermarkCombiner({ idleTimeoutMs: 10_000 }, 0);
    c.observe('gps', 0, 5_000, 0);
    c.observe('gps', 1, 9_000, 1_000);
    expect(c.current).toBe(5_000);
    expect(c.nextIdleDeadline()).toBe(10_000);
    c.observe('gps', 1, 12_000, 9_000);
    expect(c.markIdle(10_000)).toBe(true); // partition 0 idle -> partition 1 alone: 12 000
    expect(c.current).toBe(12_000);
    expect(c.partitions().map((p) => [p.partition, p.idle])).toEqual([
      [0, true],
      [1, false],
    ]);
    c.observe('gps', 0, 6_000, 11_000); // back, behind: the combined watermark does not go back
    expect(c.current).toBe(12_000);
    expect(c.partitions()[0]!.idle).toBe(false);
  });

  it('holds the watermark for expected partitions until they deliver or go idle', () => {
    const c = new WatermarkCombiner(
      { idleTimeoutMs: 5_000, expectedSources: [{ source: 'gps', partition: 1 }] },
      100,
    );
    expect(c.observe('gps', 0, 50_000, 100)).toBe(false);
    expect(c.current).toBe(Number.NEGATIVE_INFINITY);
    expect(c.nextIdleDeadline()).toBe(5_100);
    c.observe('gps', 0, 51_000, 5_000);
    expect(c.markIdle(5_100)).toBe(true); // partition 1 never delivered: idle now
    expect(c.current).toBe(51_000);
  });

  it('does not advance while every partition is idle', () => {
    const c = new WatermarkCombiner(
      { idleTimeoutMs: 1_000, expectedSources: [{ source: 'gps', partition: 1 }] },
      0,
    );
    c.observe('gps', 0, 50_000, 0);
    expect(c.markIdle(1_000)).toBe(false);
    expect(c.current).toBe(Number.NEGATIVE_INFINITY);
    expect(c.nextIdleDeadline()).toBeUndefined();
  });

  it('equals the minimum over active partitions of their max timestamp minus the bound (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ partition: fc.integer({ min: 0, max: 3 }), ts: fc.integer({ min: 0, max: 1_000 }) }),
          {
            minLength: 1,
            maxLength: 50,
          },
        ),
        fc.integer({ min: 0, max: 50 }),
        (events, bound) => {
          const c = new WatermarkCombiner({
            outOfOrdernessMs: bound,
            idleTimeoutMs: Number.POSITIVE_INFINITY,
          });
          const max = new Map<number, number>();
          let expected = Number.NEGATIVE_INFINITY;
          for (const e of events) {
            c.observe('s', e.partition, e.ts, 0);
            max.set(e.partition, Math.max(max.get(e.partition) ?? Number.NEGATIVE_INFINITY, e.ts));
            expected = Math.max(expected, Math.min(...max.values()) - bound);
            expect(c.current).toBe(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
