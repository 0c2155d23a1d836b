import type { Aggregate } from '../../aggregates/Aggregate.ts';
import {
  addExact,
  type ExactSumState,
  emptyExactSum,
  exactSumFromJSON,
  exactSumToJSON,
  invalidState,
  mergeExact,
  requireStateNumber,
  requireStateObject,
  roundPartials,
} from './aggregateInternals.ts';

/** State of `mean()`: the exact sum (see `sum()`) and the count. */
export interface MeanState {
  readonly sum: ExactSumState;
  count: number;
}

/**
 * Arithmetic mean of numbers: exact sum (see `sum()`) divided by the count, so the result does not depend on
 * how partials were split. Empty mean: `null`.
 *
 * @example
 * aggregateAll({ trips: count(), meanSpeedKmh: mapInput((v: Gps) => v.speedKmh, mean()) });
 */
export function mean(): Aggregate<number, MeanState, number | null> {
  return MEAN;
}

const MEAN: Aggregate<number, MeanState, number | null> = Object.freeze({
  name: 'mean',
  empty: (): MeanState => ({ sum: emptyExactSum(), count: 0 }),
  add: (state: MeanState, value: number) => {
    addExact(state.sum, value);
    state.count++;
    return state;
  },
  merge: (a: MeanState, b: MeanState): MeanState => ({
    sum: mergeExact(a.sum, b.sum),
    count: a.count + b.count,
  }),
  result: (state: MeanState) => (state.count === 0 ? null : roundPartials(state.sum) / state.count + 0),
  toJSON: (state: MeanState) => ({ sum: exactSumToJSON(state.sum), count: state.count }),
  fromJSON: (json: unknown): MeanState => {
    const o = requireStateObject('mean', json);
    const n = requireStateNumber('mean', o['count']);
    if (!Number.isSafeInteger(n) || n < 0) throw invalidState('mean', 'count must be a non-negative integer');
    return { sum: exactSumFromJSON('mean', o['sum']), count: n };
  },
});
