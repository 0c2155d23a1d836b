import type { SeededRandom } from './SeededRandom.ts';

/**
 * Draws indices with fixed weights in O(1) (Walker's alias method).
 *
 * @example
 * const pick = new WeightedPicker([70, 20, 10]);
 * pick.draw(random); // 0 about 70 % of the time
 */
export class WeightedPicker {
  readonly #probability: Float64Array;
  readonly #alias: Uint32Array;

  constructor(weights: readonly number[]) {
    const n = weights.length;
    const total = weights.reduce((sum, w) => sum + w, 0);
    if (n === 0 || !(total > 0)) throw new RangeError('WeightedPicker needs at least one positive weight');
    this.#probability = new Float64Array(n);
    this.#alias = new Uint32Array(n);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((w, i) => {
      (w < 1 ? small : large).push(i);
    });
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.#probability[s] = scaled[s]!;
      this.#alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) this.#probability[i] = 1;
  }

  /** An index in [0, weights.length), with probability proportional to its weight. */
  draw(random: SeededRandom): number {
    const column = random.int(this.#probability.length);
    return random.next() < this.#probability[column]! ? column : this.#alias[column]!;
  }
}
