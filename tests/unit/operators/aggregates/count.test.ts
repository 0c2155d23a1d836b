import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

describe('count', () => {
  it('counts values', () => {
    expect(count().result(fold(count(), ['a', 'b', 'a']))).toBe(3);
    expect(count().result(count().empty())).toBe(0);
  });

  it('merges exactly in any split and order, and serialises', () => {
    checkMergeLaws(count(), fc.anything());
  });

  it('rejects a malformed serialised state', () => {
    expect(() => count().fromJSON('3')).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
