// Shared by the aggregates: state checks for fromJSON/merge and the exact float summation behind sum() and
// mean().
import { CityOpsError } from '../../../engine/errors.ts';

export function invalidState(aggregate: string, problem: string): CityOpsError {
  return new CityOpsError('INVALID_STATE', `${aggregate}: ${problem}`);
}

export function requireStateNumber(aggregate: string, json: unknown): number {
  if (typeof json !== 'number' || Number.isNaN(json))
    throw invalidState(aggregate, `expected a number, got ${typeof json}`);
  return json;
}

export function requireStateObject(aggregate: string, json: unknown): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalidState(aggregate, 'expected an object');
  }
  return json as Record<string, unknown>;
}

/**
 * Exact sum as non-overlapping partials (Shewchuk 1997, "Adaptive precision floating-point arithmetic";
 * the algorithm behind Python's math.fsum). The partials represent the exact real sum of every finite value
 * added, so any grouping or order of adds and merges represents the same number, and `roundPartials` rounds it
 * correctly: a sum is identical however its partials were split across workers. Non-finite values are summed
 * apart (IEEE rules: Infinity + -Infinity is NaN).
 */
export interface ExactSumState {
  readonly partials: number[];
  nonFinite: number;
}

export function emptyExactSum(): ExactSumState {
  return { partials: [], nonFinite: 0 };
}

export function addExact(state: ExactSumState, value: number): void {
  if (!Number.isFinite(value)) {
    state.nonFinite += value;
    return;
  }
  const p = state.partials;
  let x = value;
  let kept = 0;
  for (let j = 0; j < p.length; j++) {
    let y = p[j]!;
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) p[kept++] = lo;
    x = hi;
  }
  // Resizing a JS array is what costs here: in the steady state the number of partials does not change.
  if (kept + 1 === p.length) p[kept] = x;
  else if (kept === p.length) p.push(x);
  else {
    p.length = kept + 1;
    p[kept] = x;
  }
}

export function mergeExact(a: ExactSumState, b: ExactSumState): ExactSumState {
  const out: ExactSumState = { partials: a.partials.slice(), nonFinite: a.nonFinite + b.nonFinite };
  for (const partial of b.partials) addExact(out, partial);
  return out;
}

/** The correctly rounded value of the exact sum (Python's fsum final step, with half-even correction). */
export function roundPartials(state: ExactSumState): number {
  if (state.nonFinite !== 0) return state.nonFinite; // also NaN
  const p = state.partials;
  let n = p.length;
  if (n === 0) return 0;
  let hi = p[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = p[--n]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi;
}

export function exactSumToJSON(state: ExactSumState): { partials: number[]; nonFinite: number | string } {
  return {
    partials: state.partials.slice(),
    nonFinite: Number.isFinite(state.nonFinite) ? state.nonFinite : String(state.nonFinite),
  };
}

export function exactSumFromJSON(aggregate: string, json: unknown): ExactSumState {
  const o = requireStateObject(aggregate, json);
  const partials = o['partials'];
  if (!Array.isArray(partials) || !partials.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw invalidState(aggregate, 'partials must be an array of finite numbers');
  }
  const raw = o['nonFinite'];
  const nonFinite = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof nonFinite !== 'number') throw invalidState(aggregate, 'nonFinite must be a number');
  return { partials: partials.slice() as number[], nonFinite };
}
