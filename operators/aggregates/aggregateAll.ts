import type { Aggregate } from './Aggregate.ts';
import { invalidState } from './aggregateInternals.ts';

// biome-ignore lint/suspicious/noExplicitAny: the members' state types are erased into the array state.
type AnyAggregate<V> = Aggregate<V, any, unknown>;

/** The result of `aggregateAll`: each member's result under its name. */
export type AggregateAllResult<M> = {
  readonly [P in keyof M]: M[P] extends Aggregate<never, unknown, infer R> ? R : never;
};

/**
 * Several aggregates over the same input as one: one state (an array of the members' states, in the order
 * of the object's keys), one result object. Merging merges member by member, so it stays associative and
 * commutative when every member is.
 *
 * @example
 * const agg = aggregateAll({
 *   n: count(),
 *   meanSpeedKmh: mapInput((v: Gps) => v.speedKmh, mean()),
 *   p95SpeedKmh: mapInput((v: Gps) => v.speedKmh, quantiles({ quantiles: [0.95] })),
 * });
 * // result: { n: 120, meanSpeedKmh: 31.5, p95SpeedKmh: { p95: 58.2 } }
 */
export function aggregateAll<V, M extends Record<string, AnyAggregate<V>>>(
  members: M,
): Aggregate<V, unknown[], AggregateAllResult<M>> {
  const names = Object.keys(members);
  const aggs = names.map((n) => members[n]!);
  const size = aggs.length;
  const name = `all(${names.map((n, i) => `${n}=${aggs[i]!.name}`).join(', ')})`;
  return Object.freeze({
    name,
    empty: () => aggs.map((a) => a.empty()),
    add: (state: unknown[], value: V) => {
      for (let i = 0; i < size; i++) state[i] = aggs[i]!.add(state[i], value);
      return state;
    },
    merge: (a: unknown[], b: unknown[]) => aggs.map((agg, i) => agg.merge(a[i], b[i])),
    result: (state: unknown[]) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < size; i++) out[names[i]!] = aggs[i]!.result(state[i]);
      return out as AggregateAllResult<M>;
    },
    toJSON: (state: unknown[]) => aggs.map((agg, i) => agg.toJSON(state[i])),
    fromJSON: (json: unknown) => {
      if (!Array.isArray(json) || json.length !== size) {
        throw invalidState(name, `expected an array of ${size} member states`);
      }
      return aggs.map((agg, i) => agg.fromJSON(json[i]));
    },
  });
}
