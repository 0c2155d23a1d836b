import { describe, expect, it } from 'vitest';
import { TumblingWindows } from '../../../../operators/windows/TumblingWindows.ts';

describe('TumblingWindows', () => {
  it('states size and grace, is frozen and prints itself', () => {
    const spec = TumblingWindows.ofSizeAndGrace(60_000, 5_000);
    expect(spec).toMatchObject({ kind: 'tumbling', sizeMs: 60_000, advanceMs: 60_000, graceMs: 5_000 });
    expect(Object.isFrozen(spec)).toBe(true);
    expect(String(spec)).toBe('TumblingWindows(size=60000ms, grace=5000ms)');
    expect(TumblingWindows.ofSizeWithNoGrace(1_000).graceMs).toBe(0);
  });

  it('assigns half-open windows aligned to the epoch, also before it', () => {
    const spec = TumblingWindows.ofSizeWithNoGrace(10);
    expect(spec.windowFor(0)).toEqual({ start: 0, end: 10 });
    expect(spec.windowFor(9)).toEqual({ start: 0, end: 10 });
    expect(spec.windowFor(10)).toEqual({ start: 10, end: 20 });
    expect(spec.windowFor(-1)).toEqual({ start: -10, end: 0 });
  });

  it('rejects invalid sizes with INVALID_OPTIONS naming the field', () => {
    expect(() => TumblingWindows.ofSizeAndGrace(-3, 0)).toThrow(
      'options.size must be a positive integer (ms), got -3',
    );
    expect(() => TumblingWindows.ofSizeAndGrace(10, 1.5)).toThrow(
      'options.grace must be a non-negative integer (ms), got 1.5',
    );
    expect(() => TumblingWindows.ofSizeWithNoGrace(0)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
