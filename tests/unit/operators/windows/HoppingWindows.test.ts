import { describe, expect, it } from 'vitest';
import { HoppingWindows } from '../../../../operators/windows/HoppingWindows.ts';

describe('HoppingWindows', () => {
  it('states size, advance and grace and prints itself', () => {
    const spec = HoppingWindows.ofSizeAdvanceAndGrace(300_000, 60_000, 10_000);
    expect(spec).toMatchObject({ kind: 'hopping', sizeMs: 300_000, advanceMs: 60_000, graceMs: 10_000 });
    expect(Object.isFrozen(spec)).toBe(true);
    expect(String(spec)).toBe('HoppingWindows(size=300000ms, advance=60000ms, grace=10000ms)');
    expect(HoppingWindows.ofSizeAndAdvanceWithNoGrace(10, 5).graceMs).toBe(0);
  });

  it('lists every window containing a timestamp, earliest first', () => {
    const spec = HoppingWindows.ofSizeAndAdvanceWithNoGrace(10, 4);
    expect(spec.windowsFor(9)).toEqual([
      { start: 0, end: 10 },
      { start: 4, end: 14 },
      { start: 8, end: 18 },
    ]);
    expect(spec.windowsFor(-1).every((w) => w.start <= -1 && -1 < w.end)).toBe(true);
  });

  it('rejects an advance larger than the size', () => {
    expect(() => HoppingWindows.ofSizeAdvanceAndGrace(10, 11, 0)).toThrow(
      'options.advance must be at most options.size (10 ms), got 11',
    );
    expect(() => HoppingWindows.ofSizeAdvanceAndGrace(10, 0, 0)).toThrow(
      'options.advance must be a positive integer',
    );
  });
});
