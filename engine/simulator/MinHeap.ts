/**
 * A binary min-heap ordered by a numeric key, ties broken by insertion order (so the order of equal keys is
 * deterministic: first in, first out).
 *
 * @example
 * const heap = new MinHeap<string>();
 * heap.push(5, 'b'); heap.push(1, 'a');
 * heap.pop(); // 'a'
 */
export class MinHeap<T> {
  #keys: number[] = [];
  #seqs: number[] = [];
  #items: T[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  /** The smallest key, or +Infinity when empty. */
  peekKey(): number {
    return this.#items.length === 0 ? Number.POSITIVE_INFINITY : this.#keys[0]!;
  }

  /** The item with the smallest key, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(key: number, item: T): void {
    const keys = this.#keys;
    const seqs = this.#seqs;
    const items = this.#items;
    const seq = this.#seq++;
    let i = items.length;
    keys.push(key);
    seqs.push(seq);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent]!;
      if (pk < key || (pk === key && seqs[parent]! < seq)) break;
      keys[i] = pk;
      seqs[i] = seqs[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    keys[i] = key;
    seqs[i] = seq;
    items[i] = item;
  }

  /** Removes and returns the item with the smallest key (the earliest pushed among equal keys). */
  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const keys = this.#keys;
    const seqs = this.#seqs;
    const top = items[0]!;
    const lastKey = keys.pop()!;
    const lastSeq = seqs.pop()!;
    const lastItem = items.pop()!;
    const n = items.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (
        right < n &&
        (keys[right]! < keys[left]! || (keys[right] === keys[left] && seqs[right]! < seqs[left]!))
      ) {
        child = right;
      }
      const ck = keys[child]!;
      if (lastKey < ck || (lastKey === ck && lastSeq < seqs[child]!)) break;
      keys[i] = ck;
      seqs[i] = seqs[child]!;
      items[i] = items[child]!;
      i = child;
    }
    keys[i] = lastKey;
    seqs[i] = lastSeq;
    items[i] = lastItem;
    return top;
  }
}
