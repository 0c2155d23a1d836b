import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { min } from '../../../../operators/library/aggregates/min.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

describe('min', () => {
  it('keeps the smallest value, ignores NaN, is null when empty', () => {
    expect(min().result(fold(min(), [3, -2, Number.NaN, 7]))).toBe(-2);
    expect(min().result(min().empty())).toBeNull();
    expect(min().fromJSON(min().toJSON(min().empty()))).toBe(Number.POSITIVE_INFINITY);
  });

  it('merges exactly in any split and order, and serialises', () => {
    checkMergeLaws(min(), fc.double({ noNaN: true, noDefaultInfinity: true }), 1_000);
  });
});
