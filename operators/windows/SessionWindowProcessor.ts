import type { Aggregate } from '../aggregates/Aggregate.ts';
import type { SourceRecord } from '../time/SourceRecord.ts';
import type { SessionWindows } from './SessionWindows.ts';
import type { TimeWindow, WindowOutput, WindowResult } from './WindowOutput.ts';
import type { WindowProcessor, WindowProcessorOptions, WindowProcessorStats } from './WindowProcessor.ts';
import {
  EndHeap,
  holderFor,
  invalidTimestamp,
  lateRecord,
  mergeHolders,
  type OffsetHolders,
  type ResolvedWindowOptions,
  resolveWindowOptions,
} from './windowInternals.ts';

interface Session<K, S> {
  readonly key: K;
  readonly seq: number;
  start: number;
  end: number;
  state: S;
  revision: number;
  ids: Set<string | number> | undefined;
  offsets: OffsetHolders;
  /** Extents emitted and not yet replaced (for `replaces`). */
  emitted: TimeWindow[];
  dirty: boolean;
  alive: boolean;
  /** The offset holder of the last source and partition seen in this session. */
  holderSource: string;
  holderPartition: number;
  holder: { min: number };
}

/**
 * The window core for session windows (see `WindowProcessor` for the contract and `SessionWindows` for the
 * session rule).
 *
 * A record of key `k` at `t` overlaps the open sessions of `k` that intersect `[t, t + gap)`: it joins them
 * (merging them into one when it bridges several: states merged with `aggregate.merge`, revision = the
 * highest of theirs). With no overlapping open session it starts one, unless `t + gap <= watermark - grace`,
 * in which case it is late (its window would be closed already). Sessions close in order of end
 * (then creation) once `watermark - grace >= end`.
 *
 * With `emit: 'onWindowUpdate'` each result lists in `replaces` the extents of this session emitted before
 * that it supersedes (the session grew or absorbed others), so a store can delete them.
 *
 * @example
 * const p = new SessionWindowProcessor(SessionWindows.ofInactivityGapWithNoGrace(300_000), {
 *   key: (r) => r.value.vehicleId, aggregate: count(), emit: 'onWindowClose',
 * });
 */
export class SessionWindowProcessor<T, K, S, R> implements WindowProcessor<T, K, R> {
  readonly spec: SessionWindows;
  readonly #options: ResolvedWindowOptions<T, K, S, R>;
  readonly #gap: number;
  readonly #grace: number;
  readonly #onUpdate: boolean;
  readonly #aggregate: Aggregate<T, S, R>;
  /** Open sessions per key, by start, disjoint. */
  readonly #byKey = new Map<K, Session<K, S>[]>();
  readonly #heap = new EndHeap<Session<K, S>>();
  #watermark = Number.NEGATIVE_INFINITY;
  #maxTimestamp = Number.NEGATIVE_INFINITY;
  #seq = 0;
  #open = 0;
  #out: WindowOutput<T, K, R>[] = [];
  #dirty: Session<K, S>[] = [];
  #records = 0;
  #late = 0;
  #duplicates = 0;
  #results = 0;

  constructor(spec: SessionWindows, options: WindowProcessorOptions<T, K, S, R>) {
    this.spec = spec;
    this.#options = resolveWindowOptions(options);
    this.#gap = spec.gapMs;
    this.#grace = spec.graceMs;
    this.#onUpdate = this.#options.emit === 'onWindowUpdate';
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
    for (const sessions of this.#byKey.values()) {
      for (const session of sessions) {
        const holder = session.offsets.get(source)?.get(partition);
        if (holder !== undefined && holder.min < min) min = holder.min;
      }
    }
    return min === Number.POSITIVE_INFINITY ? undefined : min;
  }

  stats(): WindowProcessorStats {
    return {
      records: this.#records,
      lateRecords: this.#late,
      duplicateRecords: this.#duplicates,
      results: this.#results,
      openWindows: this.#open,
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
    const gap = this.#gap;
    const closeTime = this.#watermark - this.#grace;
    const key = this.#options.key(record);
    let sessions = this.#byKey.get(key);
    let first = -1;
    let last = -1;
    let insertAt = 0;
    if (sessions !== undefined) {
      for (let i = 0; i < sessions.length; i++) {
        const s = sessions[i]!;
        if (s.start >= ts + gap) break;
        insertAt = i + 1;
        if (s.end > ts) {
          if (first < 0) first = i;
          last = i;
        }
      }
    }
    const id = this.#options.recordId?.(record);
    let session: Session<K, S>;
    if (first < 0) {
      if (ts + gap <= closeTime) {
        this.#late++;
        this.#out.push(lateRecord(record, [{ start: ts, end: ts + gap }], this.#watermark));
        return;
      }
      session = {
        key,
        seq: this.#seq++,
        start: ts,
        end: ts + gap,
        state: this.#aggregate.empty(),
        revision: 0,
        ids: this.#options.recordId === undefined ? undefined : new Set(),
        offsets: new Map(),
        emitted: [],
        dirty: false,
        alive: true,
        holderSource: '',
        holderPartition: Number.NaN,
        holder: { min: 0 },
      };
      if (sessions === undefined) {
        sessions = [];
        this.#byKey.set(key, sessions);
      }
      sessions.splice(insertAt, 0, session);
      this.#open++;
      this.#heap.push(session);
    } else {
      const overlapping = sessions!;
      if (id !== undefined) {
        for (let i = first; i <= last; i++) {
          if (overlapping[i]!.ids?.has(id)) {
            this.#duplicates++;
            return;
          }
        }
      }
      session = overlapping[first]!;
      const oldEnd = session.end;
      for (let i = first + 1; i <= last; i++) this.#absorb(session, overlapping[i]!);
      if (last > first) overlapping.splice(first + 1, last - first);
      if (ts < session.start) session.start = ts;
      if (ts + gap > session.end) session.end = ts + gap;
      if (session.end !== oldEnd) this.#heap.push(session);
    }
    if (id !== undefined) session.ids!.add(id);
    session.state = this.#aggregate.add(session.state, record.value);
    if (record.partition !== session.holderPartition || record.source !== session.holderSource) {
      session.holder = holderFor(session.offsets, record.source, record.partition);
      session.holderSource = record.source;
      session.holderPartition = record.partition;
    }
    if (record.offset < session.holder.min) session.holder.min = record.offset;
    if (this.#onUpdate && !session.dirty) {
      session.dirty = true;
      this.#dirty.push(session);
    }
  }

  #absorb(into: Session<K, S>, other: Session<K, S>): void {
    other.alive = false;
    this.#open--;
    into.state = this.#aggregate.merge(into.state, other.state);
    if (other.revision > into.revision) into.revision = other.revision;
    if (into.ids !== undefined && other.ids !== undefined) for (const id of other.ids) into.ids.add(id);
    mergeHolders(into.offsets, other.offsets);
    if (other.emitted.length > 0) into.emitted = into.emitted.concat(other.emitted);
    if (other.start < into.start) into.start = other.start;
    if (other.end > into.end) into.end = other.end;
  }

  #advanceTo(watermark: number): void {
    if (!(watermark > this.#watermark)) return;
    this.#watermark = watermark;
    const closeTime = watermark - this.#grace;
    for (let session = this.#heap.popUpTo(closeTime); session; session = this.#heap.popUpTo(closeTime)) {
      session.alive = false;
      this.#open--;
      const sessions = this.#byKey.get(session.key)!;
      const index = sessions.indexOf(session);
      sessions.splice(index, 1);
      if (sessions.length === 0) this.#byKey.delete(session.key);
      this.#out.push(this.#result(session, true));
    }
  }

  #result(session: Session<K, S>, final: boolean): WindowResult<K, R> {
    this.#results++;
    const { start, end } = session;
    const replaces = session.emitted.filter((w) => w.start !== start || w.end !== end);
    session.emitted = [{ start, end }];
    const value = this.#aggregate.result(session.state);
    const revision = ++session.revision;
    return replaces.length > 0
      ? { kind: 'result', key: session.key, start, end, value, revision, final, replaces }
      : { kind: 'result', key: session.key, start, end, value, revision, final };
  }

  #finish(): WindowOutput<T, K, R>[] {
    if (this.#dirty.length > 0) {
      for (const session of this.#dirty) {
        session.dirty = false;
        if (session.alive) this.#out.push(this.#result(session, false));
      }
      this.#dirty = [];
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
