import { requireDurationOrInfinity } from '../../optionInternals.ts';

/**
 * A change to reference data: `value` is valid for `key` from event time `validFrom` (epoch ms) until the
 * next update of that key; `value: null` deletes the key from `validFrom` on (a tombstone).
 */
export interface TableUpdate<K, V> {
  readonly key: K;
  readonly value: V | null;
  readonly validFrom: number;
}

export interface VersionedTableOptions {
  /**
   * How far back (ms, behind the newest `validFrom` seen) versions are kept for lookups in the past. Older
   * versions are dropped, except the one still valid at the retention boundary. Default `Infinity`.
   */
  readonly historyRetentionMs?: number;
}

/**
 * Reference data with history (Kafka Streams' versioned key-value store): every key keeps its versions by
 * `validFrom`, so a lookup can ask what was valid at a record's event time. Synchronous and pure.
 *
 * Two updates of a key with the same `validFrom`: the later call wins. Updates may arrive out of order; each
 * is placed by `validFrom`.
 *
 * @example
 * const owners = new VersionedTable<string, string>();
 * owners.apply({ key: 'B-001', value: 'Futian Holdings', validFrom: 1_000 });
 * owners.apply({ key: 'B-001', value: 'Nanshan Realty', validFrom: 5_000 });
 * owners.get('B-001', 4_999); // 'Futian Holdings'
 * owners.get('B-001');        // 'Nanshan Realty' (latest)
 */
export class VersionedTable<K, V> {
  readonly historyRetentionMs: number;
  readonly #versions = new Map<K, { validFrom: number[]; values: (V | null)[] }>();
  #newest = Number.NEGATIVE_INFINITY;
  #updates = 0;

  constructor(options: VersionedTableOptions = {}) {
    this.historyRetentionMs = requireDurationOrInfinity(
      'options.historyRetentionMs',
      options.historyRetentionMs ?? Number.POSITIVE_INFINITY,
    );
  }

  /** Number of keys with at least one stored version (tombstones included). */
  get size(): number {
    return this.#versions.size;
  }

  /** Records one update. */
  apply(update: TableUpdate<K, V>): void {
    const { key, value, validFrom } = update;
    let versions = this.#versions.get(key);
    if (versions === undefined) {
      versions = { validFrom: [], values: [] };
      this.#versions.set(key, versions);
    }
    const times = versions.validFrom;
    let i = times.length;
    while (i > 0 && times[i - 1]! > validFrom) i--;
    if (i > 0 && times[i - 1] === validFrom) versions.values[i - 1] = value;
    else {
      times.splice(i, 0, validFrom);
      versions.values.splice(i, 0, value);
    }
    if (validFrom > this.#newest) this.#newest = validFrom;
    if (this.historyRetentionMs !== Number.POSITIVE_INFINITY) {
      // Keep the version valid at the boundary: lookups at the boundary or later still need it.
      const boundary = this.#newest - this.historyRetentionMs;
      let drop = 0;
      while (drop + 1 < times.length && times[drop + 1]! <= boundary) drop++;
      if (drop > 0) {
        times.splice(0, drop);
        versions.values.splice(0, drop);
      }
    }
    this.#updates++;
  }

  /**
   * The value valid for `key` at event time `asOf` (ms): the version with the largest `validFrom <= asOf`.
   * `undefined` if there is none, the key was deleted, or `asOf` is older than the retained history.
   * Default `asOf`: `Infinity` (the latest version).
   */
  get(key: K, asOf = Number.POSITIVE_INFINITY): V | undefined {
    const versions = this.#versions.get(key);
    if (versions === undefined) return undefined;
    const times = versions.validFrom;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! <= asOf) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    return versions.values[lo - 1] ?? undefined;
  }

  /** Updates applied so far. */
  get updates(): number {
    return this.#updates;
  }
}
