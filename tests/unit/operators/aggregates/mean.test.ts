import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mean } from '../../../../operators/library/aggregates/mean.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

describe('mean', () => {
  it('divides the exact sum by the count; empty is null', () => {
    expect(mean().result(fold(mean(), [2, 4, 9]))).toBe(5);
    expect(mean().result(mean().empty())).toBeNull();
  });

  it('merges to the same value in any split and order, and serialises', () => {
    checkMergeLaws(mean(), fc.double({ min: -1e9, max: 1e9, noNaN: true }));
  });

  it('rejects a malformed serialised state', () => {
    expect(() => mean().fromJSON({ sum: { partials: [], nonFinite: 0 }, count: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE' }),
    );
  });
});
