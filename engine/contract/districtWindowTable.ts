import { type DistrictWindowMessage, WINDOW_MEASURES } from './aggregates.ts';

/** The sum over partitions of a district window: what the map and the alert rules look at. */
export type DistrictWindowTotals = Omit<
  DistrictWindowMessage,
  'kind' | 'partition' | 'revision' | 'final'
> & {
  /** Partitions that contributed, and how many of them are final. */
  partitions: number;
  finalPartitions: number;
};

/**
 * Merges the per-partition `district_window` partials that engine instances publish into totals per
 * (stream, district, window). Keeps the highest revision per partition, so repeats and out-of-order
 * deliveries of the aggregates topic change nothing.
 *
 * @example
 * const table = new DistrictWindowTable();
 * const total = table.apply(message); // the new total for message's window, or undefined if stale
 */
export class DistrictWindowTable {
  private readonly partials = new Map<string, Map<number, DistrictWindowMessage>>();

  /** Applies one partial; returns the window's new totals, or undefined when it was a stale revision. */
  apply(message: DistrictWindowMessage): DistrictWindowTotals | undefined {
    const key = windowKey(message.stream, message.district, message.window_start);
    let byPartition = this.partials.get(key);
    if (!byPartition) {
      byPartition = new Map();
      this.partials.set(key, byPartition);
    }
    const previous = byPartition.get(message.partition);
    if (previous && previous.revision >= message.revision && (previous.final || !message.final))
      return undefined;
    byPartition.set(message.partition, message);
    return sumPartials(byPartition);
  }

  /** Current totals of one window, or undefined when no partial arrived for it. */
  get(
    stream: DistrictWindowMessage['stream'],
    district: string,
    windowStart: number,
  ): DistrictWindowTotals | undefined {
    const byPartition = this.partials.get(windowKey(stream, district, windowStart));
    return byPartition ? sumPartials(byPartition) : undefined;
  }

  /** All current totals (one per stream, district and window). */
  *totals(): IterableIterator<DistrictWindowTotals> {
    for (const byPartition of this.partials.values()) yield sumPartials(byPartition);
  }

  /** Forgets windows that ended before `ts` (epoch ms), to bound memory. */
  evictBefore(ts: number): void {
    for (const [key, byPartition] of this.partials) {
      const any = byPartition.values().next().value;
      if (any && any.window_end <= ts) this.partials.delete(key);
    }
  }
}

function windowKey(stream: string, district: string, windowStart: number): string {
  return `${stream}|${district}|${windowStart}`;
}

function sumPartials(byPartition: Map<number, DistrictWindowMessage>): DistrictWindowTotals {
  let first: DistrictWindowMessage | undefined;
  const sums = Object.fromEntries(WINDOW_MEASURES.map((field) => [field, 0])) as Record<
    (typeof WINDOW_MEASURES)[number],
    number
  >;
  let finalPartitions = 0;
  for (const partial of byPartition.values()) {
    first ??= partial;
    for (const field of WINDOW_MEASURES) sums[field] += partial[field];
    if (partial.final) finalPartitions += 1;
  }
  if (!first) throw new Error('a window key without partials');
  return {
    stream: first.stream,
    district: first.district,
    window_start: first.window_start,
    window_end: first.window_end,
    ...sums,
    partitions: byPartition.size,
    finalPartitions,
  };
}
