// Laws every mergeable aggregate must satisfy, checked with fast-check: folding all values equals merging
// folds of any split in any order, merge is associative and commutative, and states survive JSON and
// structuredClone.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Aggregate } from '../../../../operators/aggregates/Aggregate.ts';

export function fold<V, S, R>(agg: Aggregate<V, S, R>, values: readonly V[]): S {
  let state = agg.empty();
  for (const v of values) state = agg.add(state, v);
  return state;
}

export function checkMergeLaws<V, S, R>(
  agg: Aggregate<V, S, R>,
  values: fc.Arbitrary<V>,
  numRuns = 200,
  same: (a: R, b: R) => void = (a, b) => expect(a).toEqual(b),
): void {
  fc.assert(
    fc.property(
      fc.array(values, { maxLength: 80 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.nat(),
      (all, cuts, seed) => {
        const whole = agg.result(fold(agg, all));
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const parts: V[][] = [];
        let from = 0;
        for (const p of [...points, all.length]) {
          parts.push(all.slice(from, p));
          from = p;
        }
        // Merge the parts' states in a shuffled order, as different workers would.
        const states = parts.map((p) => fold(agg, p));
        for (let i = states.length - 1; i > 0; i--) {
          const j = (seed + i * 7919) % (i + 1);
          [states[i], states[j]] = [states[j]!, states[i]!];
        }
        const merged = states.reduce((a, b) => agg.merge(a, b), agg.empty());
        same(agg.result(merged), whole);
        // Inputs of merge are left as they were.
        const a = fold(agg, all.slice(0, 3));
        const before = agg.result(a);
        agg.merge(a, fold(agg, all.slice(3)));
        same(agg.result(a), before);
        // Commutative and associative on three parts.
        const [x, y, z] = [fold(agg, all.slice(0, 2)), fold(agg, all.slice(2, 5)), fold(agg, all.slice(5))];
        same(agg.result(agg.merge(x, y)), agg.result(agg.merge(y, x)));
        same(agg.result(agg.merge(agg.merge(x, y), z)), agg.result(agg.merge(x, agg.merge(y, z))));
        // Serialisable: JSON for processes, structuredClone for worker threads.
        const state = fold(agg, all);
        same(agg.result(agg.fromJSON(JSON.parse(JSON.stringify(agg.toJSON(state))))), whole);
        same(agg.result(structuredClone(state)), whole);
      },
    ),
    { numRuns },
  );
}
