import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approxDistinctCount } from '../../../../operators/library/aggregates/approxDistinctCount.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

describe('approxDistinctCount', () => {
  it('stays within its stated standard error 1.04/sqrt(m) across the range (statistical)', () => {
    const precision = 12;
    const standardError = 1.04 / Math.sqrt(2 ** precision); // 1.63%
    const agg = approxDistinctCount({ precision });
    const trials = 20;
    for (const n of [10, 100, 1_000, 10_000, 50_000]) {
      const errors: number[] = [];
      for (let t = 0; t < trials; t++) {
        let state = agg.empty();
        for (let i = 0; i < n; i++) state = agg.add(state, `trial-${t}-vehicle-${i}`);
        errors.push(agg.result(state) / n - 1);
      }
      const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / trials);
      const bias = errors.reduce((a, e) => a + e, 0) / trials;
      // RMS within 1.5 standard errors (its own sampling error is ~16% of it at 20 trials), bias within
      // three standard errors of a mean of 20.
      expect(rms, `n=${n} rms=${rms}`).toBeLessThan(1.5 * standardError);
      expect(Math.abs(bias), `n=${n} bias=${bias}`).toBeLessThan((3 * standardError) / Math.sqrt(trials));
    }
  });

  it('estimates a million distinct numbers within three standard errors at the default precision', () => {
    const agg = approxDistinctCount();
    let state = agg.empty();
    for (let i = 0; i < 1_000_000; i++) state = agg.add(state, i * 1.5);
    expect(Math.abs(agg.result(state) / 1_000_000 - 1)).toBeLessThan(3 * (1.04 / Math.sqrt(2 ** 14)));
  });

  it('ignores repeats and merges to exactly the sketch of the union', () => {
    const agg = approxDistinctCount({ precision: 10 });
    const a = fold(agg, ['a', 'b', 'c', 'a', 'a']);
    expect(agg.result(a)).toBe(3);
    const left = fold(
      agg,
      Array.from({ length: 5_000 }, (_, i) => `x${i}`),
    );
    const right = fold(
      agg,
      Array.from({ length: 5_000 }, (_, i) => `x${i + 2_500}`),
    );
    const union = fold(
      agg,
      Array.from({ length: 7_500 }, (_, i) => `x${i}`),
    );
    expect(agg.merge(left, right).registers).toEqual(union.registers);
  });

  it('satisfies the merge laws and serialises', () => {
    checkMergeLaws(approxDistinctCount({ precision: 6 }), fc.oneof(fc.string(), fc.integer()), 100);
  });

  it('refuses to merge sketches of different precision and validates options', () => {
    const a = approxDistinctCount({ precision: 10 });
    const b = approxDistinctCount({ precision: 11 });
    expect(() => a.merge(a.empty(), b.empty())).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => approxDistinctCount({ precision: 30 })).toThrow(
      'options.precision must be an integer in [4, 18], got 30',
    );
    expect(() => a.fromJSON({ precision: 10, registers: 'AAAA' })).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE' }),
    );
  });
});
