// Shared by TimeWindowProcessor and SessionWindowProcessor: option resolution, the timestamp check,
// per-partition offset tracking and the late-record and result shapes.
import { CityOpsError } from '../../engine/errors.ts';
import type { Aggregate } from '../aggregates/Aggregate.ts';
import { requireFunction, requireNonNegativeInteger, requireOneOf } from '../optionInternals.ts';
import type { SourceRecord } from '../time/SourceRecord.ts';
import type { LateRecord, TimeWindow, WindowResult } from './WindowOutput.ts';
import type { EmitPolicy, WindowProcessorOptions } from './WindowProcessor.ts';

export interface ResolvedWindowOptions<T, K, S, R> {
  readonly key: (record: SourceRecord<T>) => K;
  readonly aggregate: Aggregate<T, S, R>;
  readonly emit: EmitPolicy;
  readonly fromRecords: boolean;
  readonly outOfOrdernessMs: number;
  readonly recordId: ((record: SourceRecord<T>) => string | number) | undefined;
}

export function resolveWindowOptions<T, K, S, R>(
  options: WindowProcessorOptions<T, K, S, R>,
): ResolvedWindowOptions<T, K, S, R> {
  if (typeof options !== 'object' || options === null) {
    throw new CityOpsError('INVALID_OPTIONS', 'options must be an object with key and aggregate');
  }
  const aggregate = options.aggregate;
  if (typeof aggregate !== 'object' || aggregate === null || typeof aggregate.add !== 'function') {
    throw new CityOpsError('INVALID_OPTIONS', 'options.aggregate must be an Aggregate (e.g. count())');
  }
  return Object.freeze({
    key: requireFunction('options.key', options.key),
    aggregate,
    emit: requireOneOf('options.emit', options.emit ?? 'onWindowUpdate', ['onWindowUpdate', 'onWindowClose']),
    fromRecords:
      requireOneOf('options.watermarks', options.watermarks ?? 'fromRecords', ['fromRecords', 'external']) ===
      'fromRecords',
    outOfOrdernessMs: requireNonNegativeInteger('options.outOfOrdernessMs', options.outOfOrdernessMs ?? 0),
    recordId:
      options.recordId === undefined ? undefined : requireFunction('options.recordId', options.recordId),
  });
}

export function invalidTimestamp(record: SourceRecord<unknown>): CityOpsError {
  return new CityOpsError(
    'INVALID_RECORD',
    `record ${record.source}/${record.partition}@${record.offset}: timestamp must be an integer (epoch ms), got ${String(record.timestamp)}`,
  );
}

/** Minimum offset per source and partition of records held by one window or session. */
export type OffsetHolders = Map<string, Map<number, { min: number }>>;

export function holderFor(holders: OffsetHolders, source: string, partition: number): { min: number } {
  let partitions = holders.get(source);
  if (partitions === undefined) {
    partitions = new Map();
    holders.set(source, partitions);
  }
  let holder = partitions.get(partition);
  if (holder === undefined) {
    holder = { min: Number.POSITIVE_INFINITY };
    partitions.set(partition, holder);
  }
  return holder;
}

export function mergeHolders(into: OffsetHolders, from: OffsetHolders): void {
  for (const [source, partitions] of from) {
    for (const [partition, { min }] of partitions) {
      const holder = holderFor(into, source, partition);
      if (min < holder.min) holder.min = min;
    }
  }
}

export function lateRecord<T>(
  record: SourceRecord<T>,
  windows: readonly TimeWindow[],
  watermark: number,
): LateRecord<T> {
  return {
    kind: 'late',
    source: record.source,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    windows,
    watermark,
    record,
  };
}

export function windowResult<K, R>(
  key: K,
  start: number,
  end: number,
  value: R,
  revision: number,
  final: boolean,
): WindowResult<K, R> {
  return { kind: 'result', key, start, end, value, revision, final };
}

/**
 * Binary min-heap of sessions by (end, sequence), with lazy deletion: an entry is stale when its session has
 * died or its end moved since it was pushed. The sequence number makes the close order deterministic.
 */
export class EndHeap<E extends { end: number; seq: number; alive: boolean }> {
  readonly #ends: number[] = [];
  readonly #items: E[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(item: E): void {
    const ends = this.#ends;
    const items = this.#items;
    let i = items.length;
    ends.push(item.end);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(ends[i]!, items[i]!, ends[parent]!, items[parent]!)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the live item with the smallest end if that end is <= `limit`. */
  popUpTo(limit: number): E | undefined {
    while (this.#items.length > 0) {
      const end = this.#ends[0]!;
      const item = this.#items[0]!;
      const stale = !item.alive || item.end !== end;
      if (!stale && end > limit) return undefined;
      this.#popTop();
      if (!stale) return item;
    }
    return undefined;
  }

  #less(endA: number, a: E, endB: number, b: E): boolean {
    return endA < endB || (endA === endB && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const ends = this.#ends;
    const items = this.#items;
    const e = ends[i]!;
    ends[i] = ends[j]!;
    ends[j] = e;
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }

  #popTop(): void {
    const ends = this.#ends;
    const items = this.#items;
    const lastEnd = ends.pop()!;
    const lastItem = items.pop()!;
    const n = items.length;
    if (n === 0) return;
    ends[0] = lastEnd;
    items[0] = lastItem;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.#less(ends[l]!, items[l]!, ends[smallest]!, items[smallest]!)) smallest = l;
      if (r < n && this.#less(ends[r]!, items[r]!, ends[smallest]!, items[smallest]!)) smallest = r;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
