import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distinctCount } from '../../../../operators/library/aggregates/distinctCount.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

describe('distinctCount', () => {
  it('counts distinct values exactly; 1 and "1" differ', () => {
    expect(distinctCount().result(fold(distinctCount(), ['a', 'b', 'a', 1, '1']))).toBe(4);
  });

  it('merges exactly in any split and order, and serialises', () => {
    checkMergeLaws(
      distinctCount(),
      fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom('a', 'b', 'c')),
    );
  });

  it('rejects a malformed serialised state', () => {
    expect(() => distinctCount().fromJSON([{}])).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
