import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelay } from '../../../engine/alerts/retryDelay.ts';

const policy = { base_delay: 1_000, max_delay: 60_000 };

describe('retryDelay', () => {
  it('draws from [0, min(cap, base * 2^(n-1))] (full jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, r) => {
          const delay = retryDelay(attempt, policy, undefined, () => r);
          const ceiling = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
          expect(delay).toBe(Math.floor(r * ceiling));
        },
      ),
    );
    expect(retryDelay(1, policy, undefined, () => 0.999)).toBe(999);
    expect(retryDelay(30, policy, undefined, () => 0.5)).toBe(30_000);
  });

  it('honours Retry-After, capped at max_delay', () => {
    expect(retryDelay(1, policy, 5_000, () => 0)).toBe(5_000);
    expect(retryDelay(1, policy, 600_000)).toBe(60_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T08:00:00Z');
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Fri, 27 Nov 2026 08:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 07:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});
