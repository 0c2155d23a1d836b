import type { Aggregate } from '../aggregates/Aggregate.ts';
import type { SourceRecord } from '../time/SourceRecord.ts';
import type { HoppingWindows } from './HoppingWindows.ts';
import type { TumblingWindows } from './TumblingWindows.ts';
import type { TimeWindow, WindowOutput } from './WindowOutput.ts';
import type { WindowProcessor, WindowProcessorOptions, WindowProcessorStats } from './WindowProcessor.ts';
import {
  holderFor,
  invalidTimestamp,
  lateRecord,
  type OffsetHolders,
  type ResolvedWindowOptions,
  resolveWindowOptions,
  windowResult,
} from './windowInternals.ts';

/** Size - 1 of the slot cache (a power of two). */
const SLOT_CACHE_MASK = 63;

interface Slot<K, S> {
  readonly start: number;
  readonly end: number;
  readonly entries: Map<K, Entry<K, S>>;
  readonly offsets: OffsetHolders;
  /** The offset holder of the last source and partition seen in this window (records come in runs). */
  holderSource: string;
  holderPartition: number;
  holder: { min: number };
}

interface Entry<K, S> {
  readonly slot: Slot<K, S>;
  readonly key: K;
  state: S;
  /** Revisions emitted so far. */
  revision: number;
  readonly ids: Set<string | number> | undefined;
  dirty: boolean;
  closed: boolean;
}

/**
 * The window core for tumbling and hopping windows (see `WindowProcessor` for the contract).
 *
 * State: one slot per open window start, each holding per-key entries (aggregate state, revision, ids seen)
 * and the smallest offset per source and partition. The hot path caches the last slot and offset holder, so
 * a batch of records in time order does one `Map` lookup per record and window (the key's entry) and
 * allocates only for new windows and keys.
 *
 * @example
 * const p = new TimeWindowProcessor(TumblingWindows.ofSizeAndGrace(60_000, 5_000), {
 *   key: (r) => r.value.district, aggregate: count(), emit: 'onWindowClose',
 * });
 * p.addBatch(batch).filter((o) => o.kind === 'result'); // final counts of windows closed by this batch
 */
export class TimeWindowProcessor<T, K, S, R> implements WindowProcessor<T, K, R> {
  readonly spec: TumblingWindows | HoppingWindows;
  readonly #options: ResolvedWindowOptions<T, K, S, R>;
  readonly #size: number;
  readonly #advance: number;
  readonly #grace: number;
  readonly #onUpdate: boolean;
  readonly #keyOf: (record: SourceRecord<T>) => K;
  readonly #aggregate: Aggregate<T, S, R>;
  readonly #slots = new Map<number, Slot<K, S>>();
  /** Open window starts, ascending. */
  readonly #starts: number[] = [];
  #watermark = Number.NEGATIVE_INFINITY;
  #maxTimestamp = Number.NEGATIVE_INFINITY;
  #out: WindowOutput<T, K, R>[] = [];
  #dirty: Entry<K, S>[] = [];
  readonly #slotCache: (Slot<K, S> | undefined)[] = new Array(SLOT_CACHE_MASK + 1).fill(undefined);
  #records = 0;
  #late = 0;
  #duplicates = 0;
  #results = 0;

  constructor(spec: TumblingWindows | HoppingWindows, options: WindowProcessorOptions<T, K, S, R>) {
    this.spec = spec;
    this.#options = resolveWindowOptions(options);
    this.#size = spec.sizeMs;
    this.#advance = spec.advanceMs;
    this.#grace = spec.graceMs;
    this.#onUpdate = this.#options.emit === 'onWindowUpdate';
    this.#keyOf = this.#options.key;
    this.#aggregate = this.#options.aggregate;
  }

  get watermark(): number {
    return this.#watermark;
  }

  add(record: SourceRecord<T>): WindowOutput<T, K, R>[] {
    this.#process(record);
    return this.#finish();
  }

  addBatch(records: readonly SourceRecord<T>[]): WindowOutput<T, K, R>[] {
    for (let i = 0; i < records.length; i++) this.#process(records[i]!);
    return this.#finish();
  }

  advanceWatermark(timestamp: number): WindowOutput<T, K, R>[] {
    this.#advanceTo(timestamp);
    return this.#finish();
  }

  flush(): WindowOutput<T, K, R>[] {
    return this.advanceWatermark(Number.POSITIVE_INFINITY);
  }

  oldestHeldOffset(source: string, partition: number): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    for (const slot of this.#slots.values()) {
      const holder = slot.offsets.get(source)?.get(partition);
      if (holder !== undefined && holder.min < min) min = holder.min;
    }
    return min === Number.POSITIVE_INFINITY ? undefined : min;
  }

  stats(): WindowProcessorStats {
    return {
      records: this.#records,
      lateRecords: this.#late,
      duplicateRecords: this.#duplicates,
      results: this.#results,
      openWindows: this.#slots.size,
      watermark: this.#watermark,
    };
  }

  #process(record: SourceRecord<T>): void {
    const ts = record.timestamp;
    if (!Number.isSafeInteger(ts)) throw invalidTimestamp(record);
    this.#records++;
    if (ts > this.#maxTimestamp) {
      this.#maxTimestamp = ts;
      if (this.#options.fromRecords) {
        const candidate = ts - this.#options.outOfOrdernessMs;
        if (candidate > this.#watermark) this.#advanceTo(candidate);
      }
    }
    const closeTime = this.#watermark - this.#grace;
    const size = this.#size;
    const advance = this.#advance;
    if (advance === size) {
      let offset = ts % size;
      if (offset < 0) offset += size;
      const start = ts - offset;
      if (start + size <= closeTime) {
        this.#lateRecord(record, [{ start, end: start + size }]);
        return;
      }
      if (this.#accumulate(start, this.#keyOf(record), record)) this.#duplicates++;
      return;
    }
    const lowest = ts - size + 1;
    let offset = lowest % advance;
    if (offset < 0) offset += advance;
    let start = offset === 0 ? lowest : lowest - offset + advance;
    let closed: TimeWindow[] | undefined;
    let key: K | undefined;
    let duplicate = false;
    for (; start <= ts; start += advance) {
      if (start + size <= closeTime) {
        if (closed === undefined) closed = [];
        closed.push({ start, end: start + size });
        continue;
      }
      if (key === undefined) key = this.#keyOf(record);
      if (this.#accumulate(start, key, record)) duplicate = true;
    }
    if (duplicate) this.#duplicates++;
    if (closed !== undefined) this.#lateRecord(record, closed);
  }

  /** Adds the record to one window; returns true if it was a duplicate there. */
  #accumulate(start: number, key: K, record: SourceRecord<T>): boolean {
    // A small direct-mapped cache by window number: a hopping record visits consecutive windows, and the
    // next record visits the same ones, so this replaces a Map lookup per window with an array read.
    const cache = this.#slotCache;
    const index = (start / this.#advance) & SLOT_CACHE_MASK;
    let slot = cache[index];
    if (slot === undefined || slot.start !== start) {
      slot = this.#slots.get(start) ?? this.#openSlot(start);
      cache[index] = slot;
    }
    let entry = slot.entries.get(key);
    if (entry === undefined) {
      entry = {
        slot,
        key,
        state: this.#aggregate.empty(),
        revision: 0,
        ids: this.#options.recordId === undefined ? undefined : new Set(),
        dirty: false,
        closed: false,
      };
      slot.entries.set(key, entry);
    }
    if (entry.ids !== undefined) {
      const id = this.#options.recordId!(record);
      if (entry.ids.has(id)) return true;
      entry.ids.add(id);
    }
    entry.state = this.#aggregate.add(entry.state, record.value);
    if (record.partition !== slot.holderPartition || record.source !== slot.holderSource) {
      slot.holder = holderFor(slot.offsets, record.source, record.partition);
      slot.holderSource = record.source;
      slot.holderPartition = record.partition;
    }
    if (record.offset < slot.holder.min) slot.holder.min = record.offset;
    if (this.#onUpdate && !entry.dirty) {
      entry.dirty = true;
      this.#dirty.push(entry);
    }
    return false;
  }

  #openSlot(start: number): Slot<K, S> {
    const slot: Slot<K, S> = {
      start,
      end: start + this.#size,
      entries: new Map(),
      offsets: new Map(),
      holderSource: '',
      holderPartition: Number.NaN,
      holder: { min: 0 },
    };
    this.#slots.set(start, slot);
    const starts = this.#starts;
    let i = starts.length;
    while (i > 0 && starts[i - 1]! > start) i--;
    starts.splice(i, 0, start);
    return slot;
  }

  #advanceTo(watermark: number): void {
    if (!(watermark > this.#watermark)) return;
    this.#watermark = watermark;
    const closeTime = watermark - this.#grace;
    const starts = this.#starts;
    let closing = 0;
    while (closing < starts.length && starts[closing]! + this.#size <= closeTime) closing++;
    if (closing === 0) return;
    for (const start of starts.splice(0, closing)) this.#closeSlot(this.#slots.get(start)!);
  }

  #closeSlot(slot: Slot<K, S>): void {
    this.#slots.delete(slot.start);
    const index = (slot.start / this.#advance) & SLOT_CACHE_MASK;
    if (this.#slotCache[index] === slot) this.#slotCache[index] = undefined;
    const aggregate = this.#aggregate;
    for (const entry of slot.entries.values()) {
      entry.closed = true;
      this.#out.push(
        windowResult(entry.key, slot.start, slot.end, aggregate.result(entry.state), ++entry.revision, true),
      );
    }
    this.#results += slot.entries.size;
  }

  #lateRecord(record: SourceRecord<T>, windows: readonly TimeWindow[]): void {
    this.#late++;
    this.#out.push(lateRecord(record, windows, this.#watermark));
  }

  #finish(): WindowOutput<T, K, R>[] {
    const dirty = this.#dirty;
    if (dirty.length > 0) {
      const aggregate = this.#aggregate;
      for (const entry of dirty) {
        entry.dirty = false;
        if (entry.closed) continue;
        const slot = entry.slot;
        this.#out.push(
          windowResult(
            entry.key,
            slot.start,
            slot.end,
            aggregate.result(entry.state),
            ++entry.revision,
            false,
          ),
        );
        this.#results++;
      }
      this.#dirty = [];
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
