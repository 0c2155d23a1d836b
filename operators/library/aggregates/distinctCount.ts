import type { Aggregate } from '../../aggregates/Aggregate.ts';
import { invalidState } from './aggregateInternals.ts';

/**
 * Exact number of distinct values (strings or numbers; `1` and `'1'` differ). The state keeps every distinct
 * value, so memory grows with the answer: use it for small sets (up to some tens of thousands per window and
 * key) and `approxDistinctCount()` beyond. State: a `Set`.
 *
 * @example
 * mapInput((v: Incident) => v.gridCellId, distinctCount()); // grid cells with an incident this hour
 */
export function distinctCount(): Aggregate<string | number, Set<string | number>, number> {
  return DISTINCT;
}

const DISTINCT: Aggregate<string | number, Set<string | number>, number> = Object.freeze({
  name: 'distinctCount',
  empty: () => new Set<string | number>(),
  add: (state: Set<string | number>, value: string | number) => state.add(value),
  merge: (a: Set<string | number>, b: Set<string | number>) => {
    const out = new Set(a);
    for (const v of b) out.add(v);
    return out;
  },
  result: (state: Set<string | number>) => state.size,
  toJSON: (state: Set<string | number>) => [...state],
  fromJSON: (json: unknown) => {
    if (!Array.isArray(json) || !json.every((v) => typeof v === 'string' || typeof v === 'number')) {
      throw invalidState('distinctCount', 'expected an array of strings and numbers');
    }
    return new Set<string | number>(json as (string | number)[]);
  },
});
