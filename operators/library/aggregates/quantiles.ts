import type { Aggregate } from '../../aggregates/Aggregate.ts';
import { invalidOption, requireFiniteNumber } from '../../optionInternals.ts';
import { invalidState, requireStateObject } from './aggregateInternals.ts';

export interface QuantilesOptions {
  /** `alpha`: relative error bound of every quantile, in (0, 0.5). Default 0.01 (1%). */
  readonly relativeAccuracy?: number;
  /** Quantiles to report, each in [0, 1]. Default `[0.5, 0.9, 0.99]`. */
  readonly quantiles?: readonly number[];
}

/** State of `quantiles()`: DDSketch buckets. Bucket `i` counts values `x` with `gamma^(i-1) < |x| <= gamma^i`. */
export interface QuantileSketchState {
  readonly relativeAccuracy: number;
  readonly positive: Map<number, number>;
  readonly negative: Map<number, number>;
  zeroCount: number;
  count: number;
  min: number;
  max: number;
}

/** Below this magnitude values count as zero. */
const MIN_INDEXABLE = 1e-300;

/** The result of `quantiles()`: `{ p50: 12.1, p99: 80.3 }`, `null` values when nothing was added. */
export type QuantilesResult = Readonly<Record<string, number | null>>;

/**
 * Quantiles of numbers with a DDSketch (Masson, Rim, Lee, "DDSketch: a fast and fully-mergeable quantile
 * sketch with relative-error guarantees", VLDB 2019).
 *
 * Error bound (deterministic, not statistical): for each requested quantile `q` of `n` values, the answer `y`
 * satisfies `|y - x| <= relativeAccuracy * |x|`, where `x` is the exact value at rank `floor(q * (n - 1))` of
 * the sorted values (e.g. a p99 latency of 200 ms is reported within 198..202 ms at the default 1%). Merging
 * adds bucket counts, which is exact, associative and commutative: merged partials answer exactly as one
 * sketch over all values would, with the same bound. Buckets are never collapsed (collapsing would make merges
 * order-dependent), so a state holds about `ln(max/min) / (2 * alpha)` buckets: ~1 000 for values spanning
 * nine orders of magnitude at 1%. Non-finite values are ignored; values with `|x| <= 1e-300` count as 0 (the
 * logarithmic mapping loses precision among subnormal numbers).
 *
 * Keys in the result are `p` + the percentile: `p50`, `p99`, `p99.9`.
 *
 * Written here rather than using `@datadog/sketches-js` because its sketches are classes serialised through
 * protobuf; this state is plain data that crosses `postMessage` and merges without mutating its inputs.
 *
 * @example
 * mapInput((v: Trip) => v.durationS, quantiles({ relativeAccuracy: 0.02, quantiles: [0.5, 0.95] }));
 * // result: { p50: 412.3, p95: 1210.8 }
 */
export function quantiles(options: QuantilesOptions = {}): Aggregate<
  number,
  QuantileSketchState,
  QuantilesResult
> & {
  /** One quantile `q` in [0, 1] of a state, or `null` if it is empty. */
  quantile(state: QuantileSketchState, q: number): number | null;
} {
  const alpha = options.relativeAccuracy ?? 0.01;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 0.5)) {
    throw invalidOption('options.relativeAccuracy', 'a number in (0, 0.5)', alpha);
  }
  const qs = (options.quantiles ?? [0.5, 0.9, 0.99]).map((q, i) =>
    requireFiniteNumber(`options.quantiles[${i}]`, q, 0, 1),
  );
  const labels = qs.map((q) => `p${Number((q * 100).toFixed(6))}`);
  const gamma = (1 + alpha) / (1 - alpha);
  const lnGamma = Math.log(gamma);
  const valueFactor = 2 / (gamma + 1);
  const name = `quantiles(alpha=${alpha})`;

  const check = (state: QuantileSketchState): void => {
    if (state.relativeAccuracy !== alpha) {
      throw invalidState(name, `state has relativeAccuracy ${state.relativeAccuracy}, expected ${alpha}`);
    }
  };
  const bucketValue = (index: number): number => Math.exp(index * lnGamma) * valueFactor;

  const quantile = (state: QuantileSketchState, q: number): number | null => {
    if (state.count === 0) return null;
    const rank = q * (state.count - 1);
    let seen = 0;
    let found: number | undefined;
    const negativeKeys = [...state.negative.keys()].sort((a, b) => b - a);
    for (const k of negativeKeys) {
      seen += state.negative.get(k)!;
      if (seen > rank) {
        found = -bucketValue(k);
        break;
      }
    }
    if (found === undefined) {
      seen += state.zeroCount;
      if (seen > rank) found = 0;
    }
    if (found === undefined) {
      const positiveKeys = [...state.positive.keys()].sort((a, b) => a - b);
      for (const k of positiveKeys) {
        seen += state.positive.get(k)!;
        if (seen > rank) {
          found = bucketValue(k);
          break;
        }
      }
    }
    const value = found ?? state.max;
    return Math.min(state.max, Math.max(state.min, value));
  };

  return Object.freeze({
    name,
    quantile,
    empty: (): QuantileSketchState => ({
      relativeAccuracy: alpha,
      positive: new Map(),
      negative: new Map(),
      zeroCount: 0,
      count: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
    }),
    add: (state: QuantileSketchState, input: number) => {
      if (!Number.isFinite(input)) return state;
      // -0 is kept as 0: JSON turns it into 0, and min/max would depend on the order -0 and 0 came in
      // (fast-check found both: a state read back from JSON answered 0 where the original answered -0).
      const value = input === 0 ? 0 : input;
      if (value > MIN_INDEXABLE) {
        const k = Math.ceil(Math.log(value) / lnGamma);
        state.positive.set(k, (state.positive.get(k) ?? 0) + 1);
      } else if (value < -MIN_INDEXABLE) {
        const k = Math.ceil(Math.log(-value) / lnGamma);
        state.negative.set(k, (state.negative.get(k) ?? 0) + 1);
      } else {
        state.zeroCount++;
      }
      state.count++;
      if (value < state.min) state.min = value;
      if (value > state.max) state.max = value;
      return state;
    },
    merge: (a: QuantileSketchState, b: QuantileSketchState): QuantileSketchState => {
      check(a);
      check(b);
      const positive = new Map(a.positive);
      for (const [k, c] of b.positive) positive.set(k, (positive.get(k) ?? 0) + c);
      const negative = new Map(a.negative);
      for (const [k, c] of b.negative) negative.set(k, (negative.get(k) ?? 0) + c);
      return {
        relativeAccuracy: alpha,
        positive,
        negative,
        zeroCount: a.zeroCount + b.zeroCount,
        count: a.count + b.count,
        min: Math.min(a.min, b.min),
        max: Math.max(a.max, b.max),
      };
    },
    result: (state: QuantileSketchState): QuantilesResult => {
      const out: Record<string, number | null> = {};
      for (let i = 0; i < qs.length; i++) out[labels[i]!] = quantile(state, qs[i]!);
      return out;
    },
    toJSON: (state: QuantileSketchState) => ({
      relativeAccuracy: state.relativeAccuracy,
      positive: [...state.positive].sort((x, y) => x[0] - y[0]),
      negative: [...state.negative].sort((x, y) => x[0] - y[0]),
      zeroCount: state.zeroCount,
      count: state.count,
      min: state.count === 0 ? null : state.min,
      max: state.count === 0 ? null : state.max,
    }),
    fromJSON: (json: unknown): QuantileSketchState => {
      const o = requireStateObject(name, json);
      const buckets = (field: string): Map<number, number> => {
        const raw = o[field];
        const ok =
          Array.isArray(raw) &&
          raw.every(
            (e) =>
              Array.isArray(e) &&
              e.length === 2 &&
              Number.isSafeInteger(e[0]) &&
              Number.isSafeInteger(e[1]) &&
              e[1] > 0,
          );
        if (!ok) throw invalidState(name, `${field} must be an array of [bucket, count] integer pairs`);
        return new Map(raw as [number, number][]);
      };
      const positive = buckets('positive');
      const negative = buckets('negative');
      const zeroCount = o['zeroCount'];
      const count = o['count'];
      if (!Number.isSafeInteger(zeroCount) || !Number.isSafeInteger(count)) {
        throw invalidState(name, 'zeroCount and count must be integers');
      }
      let total = zeroCount as number;
      for (const c of positive.values()) total += c;
      for (const c of negative.values()) total += c;
      if (total !== count) throw invalidState(name, `count ${count} does not match the buckets (${total})`);
      const state: QuantileSketchState = {
        relativeAccuracy: o['relativeAccuracy'] as number,
        positive,
        negative,
        zeroCount: zeroCount as number,
        count: count as number,
        min: typeof o['min'] === 'number' ? o['min'] : Number.POSITIVE_INFINITY,
        max: typeof o['max'] === 'number' ? o['max'] : Number.NEGATIVE_INFINITY,
      };
      check(state);
      return state;
    },
  });
}
