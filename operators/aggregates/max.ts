import type { Aggregate } from './Aggregate.ts';
import { requireStateNumber } from './aggregateInternals.ts';

/**
 * Largest number. Exact. `NaN` values are ignored. Empty: `null`. State: a number (`-Infinity` when empty).
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
  // biome-ignore lint/complexity/useMathMinMax: Math.max would let NaN through; the comparison ignores it.
  add: (state: number, value: number) => (value > state ? value : state),
  // biome-ignore lint/complexity/useMathMinMax: as above.
  merge: (a: number, b: number) => (b > a ? b : a),
  result: (state: number) => (state === Number.NEGATIVE_INFINITY ? null : state),
  toJSON: (state: number) => (state === Number.NEGATIVE_INFINITY ? null : state),
  fromJSON: (json: unknown) => (json === null ? Number.NEGATIVE_INFINITY : requireStateNumber('max', json)),
});
