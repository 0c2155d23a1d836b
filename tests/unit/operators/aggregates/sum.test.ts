import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sum } from '../../../../operators/library/aggregates/sum.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

/** Exact rational sum of doubles via BigInt scaled by 2^1100, rounded back to a double. */
function exactSum(values: readonly number[]): number {
  const SCALE = 1100n;
  let total = 0n;
  for (const v of values) {
    if (v === 0) continue;
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, v);
    const bits = view.getBigUint64(0);
    const exponent = Number((bits >> 52n) & 0x7ffn);
    const mantissa = bits & 0xfffffffffffffn;
    const significand = exponent === 0 ? mantissa : mantissa | (1n << 52n);
    const shift = BigInt((exponent === 0 ? 1 : exponent) - 1075) + SCALE;
    const magnitude = significand << shift;
    total += v < 0 ? -magnitude : magnitude;
  }
  return roundToDouble(total, SCALE);
}

/** `total / 2^scale` rounded to the nearest double, ties to even (normal range only). */
function roundToDouble(total: bigint, scale: bigint): number {
  const negative = total < 0n;
  let t = negative ? -total : total;
  if (t === 0n) return 0;
  const bitLength = t.toString(2).length;
  // Keep 54 bits (53 + one rounding bit) plus a sticky bit.
  const drop = bitLength - 54;
  let exponent = drop - Number(scale);
  let top: bigint;
  let sticky = false;
  if (drop > 0) {
    sticky = (t & ((1n << BigInt(drop)) - 1n)) !== 0n;
    top = t >> BigInt(drop);
  } else {
    top = t << BigInt(-drop);
  }
  // Round half to even on the last bit.
  const roundBit = top & 1n;
  top >>= 1n;
  exponent += 1;
  if (roundBit === 1n && (sticky || (top & 1n) === 1n)) top += 1n;
  t = top;
  const value = Number(t) * 2 ** exponent;
  return negative ? -value : value;
}

describe('sum', () => {
  it('is the correctly rounded sum, unlike a plain loop', () => {
    const s = sum();
    expect(s.result(fold(s, [0.1, 0.2, 0.3]))).toBe(0.6);
    expect(s.result(fold(s, [1e100, 1, -1e100]))).toBe(1);
    expect(s.result(s.empty())).toBe(0);
    expect(s.result(fold(s, [1, Number.POSITIVE_INFINITY]))).toBe(Number.POSITIVE_INFINITY);
    expect(s.result(fold(s, [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]))).toBeNaN();
  });

  it('equals an exact big-integer sum for random doubles (normal range)', () => {
    const normal = fc
      .double({ min: -1e12, max: 1e12, noNaN: true, noDefaultInfinity: true })
      .filter((x) => x === 0 || Math.abs(x) > 1e-200);
    fc.assert(
      fc.property(fc.array(normal, { maxLength: 50 }), (values) => {
        // === on purpose: -0 and 0 are the same sum.
        expect(sum().result(fold(sum(), values)) === exactSum(values)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('gives bit-identical results however the values are split and merged', () => {
    checkMergeLaws(sum(), fc.double({ min: -1e15, max: 1e15, noNaN: true }), 300, (a, b) =>
      expect(Object.is(a, b) || a === b).toBe(true),
    );
  });
});
