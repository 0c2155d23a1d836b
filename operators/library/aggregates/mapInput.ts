import type { Aggregate } from '../../aggregates/Aggregate.ts';

/**
 * Feeds an aggregate with a value derived from the input (a "contramap"): same state, merge and result.
 *
 * @example
 * const meanSpeed = mapInput((v: { speedKmh: number }) => v.speedKmh, mean());
 */
export function mapInput<I, V, S, R>(
  select: (input: I) => V,
  aggregate: Aggregate<V, S, R>,
): Aggregate<I, S, R> {
  const add = aggregate.add;
  return Object.freeze({
    name: aggregate.name,
    empty: () => aggregate.empty(),
    add: (state: S, input: I) => add(state, select(input)),
    merge: (a: S, b: S) => aggregate.merge(a, b),
    result: (state: S) => aggregate.result(state),
    toJSON: (state: S) => aggregate.toJSON(state),
    fromJSON: (json: unknown) => aggregate.fromJSON(json),
  });
}
