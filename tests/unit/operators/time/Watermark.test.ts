import { describe, expect, it } from 'vitest';
import { Watermark } from '../../../../operators/time/Watermark.ts';

describe('Watermark', () => {
  it('is a frozen marker with an event time', () => {
    const w = new Watermark(42);
    expect(w.timestamp).toBe(42);
    expect(Object.isFrozen(w)).toBe(true);
    expect(String(w)).toBe('Watermark(42)');
  });
});
