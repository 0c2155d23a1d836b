import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { max } from '../../../../operators/library/aggregates/max.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

describe('max', () => {
  it('keeps the largest value, ignores NaN, is null when empty', () => {
    expect(max().result(fold(max(), [3, -2, Number.NaN, 7]))).toBe(7);
    expect(max().result(max().empty())).toBeNull();
  });

  it('merges exactly in any split and order, and serialises', () => {
    checkMergeLaws(max(), fc.double({ noNaN: true, noDefaultInfinity: true }), 1_000);
  });
});
