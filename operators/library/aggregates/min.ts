import type { Aggregate } from '../../aggregates/Aggregate.ts';
import { requireStateNumber } from './aggregateInternals.ts';

/**
 * Smallest number. Exact. `NaN` values are ignored; `-0` is reported as `0`. Empty: `null`. State: a number (`Infinity` when empty).
 *
 * @example
 * mapInput((v: Reading) => v.pm25, min());
 */
export function min(): Aggregate<number, number, number | null> {
  return MIN;
}

const MIN: Aggregate<number, number, number | null> = Object.freeze({
  name: 'min',
  empty: () => Number.POSITIVE_INFINITY,
  // + 0 turns -0 into 0, so the result never depends on which zero came first.
  add: (state: number, value: number) => smaller(state, value + 0),
  merge: (a: number, b: number) => smaller(a, b),
  result: (state: number) => (state === Number.POSITIVE_INFINITY ? null : state),
  toJSON: (state: number) => (state === Number.POSITIVE_INFINITY ? null : state),
  fromJSON: (json: unknown) => (json === null ? Number.POSITIVE_INFINITY : requireStateNumber('min', json)),
});

/** Unlike Math.min, ignores NaN in `b`. */
function smaller(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.min would let NaN through.
  return b < a ? b : a;
}
