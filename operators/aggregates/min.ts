import type { Aggregate } from './Aggregate.ts';
import { requireStateNumber } from './aggregateInternals.ts';

/**
 * Smallest number. Exact. `NaN` values are ignored. Empty: `null`. State: a number (`Infinity` when empty).
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
  // biome-ignore lint/complexity/useMathMinMax: Math.min would let NaN through; the comparison ignores it.
  add: (state: number, value: number) => (value < state ? value : state),
  // biome-ignore lint/complexity/useMathMinMax: as above.
  merge: (a: number, b: number) => (b < a ? b : a),
  result: (state: number) => (state === Number.POSITIVE_INFINITY ? null : state),
  toJSON: (state: number) => (state === Number.POSITIVE_INFINITY ? null : state),
  fromJSON: (json: unknown) => (json === null ? Number.POSITIVE_INFINITY : requireStateNumber('min', json)),
});
