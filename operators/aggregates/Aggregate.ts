/**
 * A mergeable aggregation: partial states computed anywhere (another window, worker thread or process)
 * combine into the state one process would have computed from all the values.
 *
 * - `empty()`: the state of no values (the identity of `merge`).
 * - `add(state, value)`: the state after one more value. It MAY update `state` in place and return it (the
 *   window hot path relies on that to avoid allocating); callers use the returned state and drop the old one.
 * - `merge(a, b)`: the state of the values of both; associative and commutative; does not modify `a` or `b`.
 * - `result(state)`: the answer, a fresh value the caller may keep (later `add`s do not change it).
 * - `toJSON(state)` / `fromJSON(json)`: a JSON-safe form for crossing processes; states themselves are plain
 *   data (numbers, arrays, objects, `Map`, `Set`, typed arrays) that `structuredClone` and `postMessage` copy.
 *
 * Aggregates are built by factories (`count()`, `sum()`, `quantiles({...})`, ...) and shared freely: they
 * hold no per-window data.
 *
 * @example
 * const agg = mean();
 * const a = agg.add(agg.add(agg.empty(), 2), 4);
 * const b = agg.add(agg.empty(), 9);
 * agg.result(agg.merge(a, b)); // 5
 * agg.result(agg.fromJSON(JSON.parse(JSON.stringify(agg.toJSON(a))))); // 3
 */
export interface Aggregate<V, S, R> {
  /** Short name used in topology descriptions, e.g. `count` or `quantiles(alpha=0.01)`. */
  readonly name: string;
  empty(): S;
  add(state: S, value: V): S;
  merge(a: S, b: S): S;
  result(state: S): R;
  toJSON(state: S): unknown;
  fromJSON(json: unknown): S;
}

/** The state type of an aggregate. */
export type StateOf<A> = A extends Aggregate<never, infer S, unknown> ? S : never;
/** The result type of an aggregate. */
export type ResultOf<A> = A extends Aggregate<never, unknown, infer R> ? R : never;
