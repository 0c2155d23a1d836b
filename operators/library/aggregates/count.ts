import type { Aggregate } from '../../aggregates/Aggregate.ts';
import { requireStateNumber } from './aggregateInternals.ts';

/**
 * Counts values. Exact. State: a number.
 *
 * @example
 * windowAggregate(TumblingWindows.ofSizeWithNoGrace(60_000), { key: (r) => r.value.district, aggregate: count() });
 */
export function count(): Aggregate<unknown, number, number> {
  return COUNT;
}

const COUNT: Aggregate<unknown, number, number> = Object.freeze({
  name: 'count',
  empty: () => 0,
  add: (state: number) => state + 1,
  merge: (a: number, b: number) => a + b,
  result: (state: number) => state,
  toJSON: (state: number) => state,
  fromJSON: (json: unknown) => requireStateNumber('count', json),
});
