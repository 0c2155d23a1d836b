import { describe, expect, it } from 'vitest';
import { BoundedOutOfOrdernessWatermark } from '../../../../operators/library/time/BoundedOutOfOrdernessWatermark.ts';

describe('BoundedOutOfOrdernessWatermark', () => {
  it('trails the largest event time by the bound and never goes back', () => {
    const wm = new BoundedOutOfOrdernessWatermark(5_000);
    expect(wm.current).toBe(Number.NEGATIVE_INFINITY);
    expect(wm.observe(60_000)).toBe(true);
    expect(wm.current).toBe(55_000);
    expect(wm.observe(58_000)).toBe(false);
    expect(wm.current).toBe(55_000);
    expect(wm.observe(61_000)).toBe(true);
    expect(wm.maxTimestamp).toBe(61_000);
  });

  it('defaults to no delay and rejects a negative bound', () => {
    const wm = new BoundedOutOfOrdernessWatermark();
    wm.observe(7);
    expect(wm.current).toBe(7);
    expect(() => new BoundedOutOfOrdernessWatermark(-1)).toThrow(
      'options.outOfOrdernessMs must be a non-negative integer',
    );
  });
});
