import type { Aggregate } from '../../aggregates/Aggregate.ts';
import {
  addExact,
  type ExactSumState,
  emptyExactSum,
  exactSumFromJSON,
  exactSumToJSON,
  mergeExact,
  roundPartials,
} from './aggregateInternals.ts';

/**
 * Sums numbers exactly: the result is the correctly rounded real sum of the values, whatever the order of
 * adds and however partials were split and merged (so two workers never disagree in the last bit, as a plain
 * `+=` would). Written here (Shewchuk's partials, as in Python's `math.fsum`) because no maintained npm
 * package offers a mergeable exact sum; for typical data a state holds 1-3 partials.
 *
 * Non-finite values follow IEEE rules (`Infinity + -Infinity` is `NaN`). Finite sums must stay within ±1.7e308.
 * Empty sum: 0.
 *
 * @example
 * const s = sum();
 * s.result(s.merge(s.add(s.empty(), 0.1), s.add(s.add(s.empty(), 0.2), 0.3))); // 0.6 (a plain loop gives 0.6000000000000001)
 */
export function sum(): Aggregate<number, ExactSumState, number> {
  return SUM;
}

const SUM: Aggregate<number, ExactSumState, number> = Object.freeze({
  name: 'sum',
  empty: emptyExactSum,
  add: (state: ExactSumState, value: number) => {
    addExact(state, value);
    return state;
  },
  merge: mergeExact,
  // + 0 reports -0 as 0, which JSON cannot tell apart anyway.
  result: (state: ExactSumState) => roundPartials(state) + 0,
  toJSON: exactSumToJSON,
  fromJSON: (json: unknown) => exactSumFromJSON('sum', json),
});
