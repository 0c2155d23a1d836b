import type { Aggregate } from '../../aggregates/Aggregate.ts';
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
    add: memberAdd(aggs),
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

/**
 * The `add` of the combination. For up to four members each member gets its own call site (a closure over
 * its `add`), which V8 keeps monomorphic; a loop over members would be one megamorphic call site, several
 * times slower on the window hot path.
 */
function memberAdd<V>(aggs: readonly AnyAggregate<V>[]): (state: unknown[], value: V) => unknown[] {
  const [a, b, c, d] = aggs.map((agg) => agg.add.bind(agg));
  switch (aggs.length) {
    case 1:
      return (s, v) => {
        s[0] = a!(s[0], v);
        return s;
      };
    case 2:
      return (s, v) => {
        s[0] = a!(s[0], v);
        s[1] = b!(s[1], v);
        return s;
      };
    case 3:
      return (s, v) => {
        s[0] = a!(s[0], v);
        s[1] = b!(s[1], v);
        s[2] = c!(s[2], v);
        return s;
      };
    case 4:
      return (s, v) => {
        s[0] = a!(s[0], v);
        s[1] = b!(s[1], v);
        s[2] = c!(s[2], v);
        s[3] = d!(s[3], v);
        return s;
      };
    default:
      return (s, v) => {
        for (let i = 0; i < aggs.length; i++) s[i] = aggs[i]!.add(s[i], v);
        return s;
      };
  }
}
