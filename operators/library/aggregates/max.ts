import type { Aggregate } from '../../aggregates/Aggregate.ts';
import { requireStateNumber } from './aggregateInternals.ts';

/**
 * Largest number. Exact. `NaN` values are ignored; `-0` is reported as `0`. Empty: `null`. State: a number (`-Infinity` when empty).
 *
 * @example
 * mapInput((v: Gps) => v.speedKmh, max());
 */
export function max(): Aggregate<number, number, number | null> {
  return MAX;
}

const MAX: Aggregate<number, number, number | null> = Object.freeze({
  name: 'max',
  empty: () => Number.NEGATIVE_INFINITY,
  // + 0 turns -0 into 0, so the result never depends on which zero came first.
  add: (state: number, value: number) => larger(state, value + 0),
  merge: (a: number, b: number) => larger(a, b),
  result: (state: number) => (state === Number.NEGATIVE_INFINITY ? null : state),
  toJSON: (state: number) => (state === Number.NEGATIVE_INFINITY ? null : state),
  fromJSON: (json: unknown) => (json === null ? Number.NEGATIVE_INFINITY : requireStateNumber('max', json)),
});

/** Unlike Math.max, ignores NaN in `b`. */
function larger(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.max would let NaN through.
  return b > a ? b : a;
}
