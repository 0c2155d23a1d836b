import { describe, expect, it } from 'vitest';
import { SessionWindows } from '../../../../operators/windows/SessionWindows.ts';

describe('SessionWindows', () => {
  it('states the inactivity gap and grace and prints itself', () => {
    const spec = SessionWindows.ofInactivityGapAndGrace(300_000, 30_000);
    expect(spec).toMatchObject({ kind: 'session', gapMs: 300_000, graceMs: 30_000 });
    expect(Object.isFrozen(spec)).toBe(true);
    expect(String(spec)).toBe('SessionWindows(gap=300000ms, grace=30000ms)');
    expect(SessionWindows.ofInactivityGapWithNoGrace(5).graceMs).toBe(0);
  });

  it('rejects a non-positive gap', () => {
    expect(() => SessionWindows.ofInactivityGapWithNoGrace(0)).toThrow(
      'options.gap must be a positive integer (ms), got 0',
    );
  });
});
