import type { DistrictWindowMessage } from '../contract/aggregates.ts';
import { DistrictWindowTable, type DistrictWindowTotals } from '../contract/districtWindowTable.ts';

type Stream = DistrictWindowMessage['stream'];

interface PendingWindow {
  readonly stream: Stream;
  readonly district: string;
  readonly start: number;
  readonly end: number;
  readonly partials: Map<number, DistrictWindowMessage>;
}

/** Serialisable state of a `DistrictWindowCompletion`, for evaluator snapshots. */
export interface DistrictWindowCompletionState {
  readonly partials: DistrictWindowMessage[];
  readonly partitions: Array<[Stream, number[]]>;
  readonly progress: Array<[Stream, Array<[number, number]>]>;
  readonly closed: Array<[string, number]>;
}

/**
 * Decides when a district window is complete and hands its totals to the rules exactly once.
 *
 * The engine publishes per-partition partials; a window (stream, district, start) is complete when every
 * partition of that stream seen so far either sent a final partial for it or sent a final partial of a
 * later window of the same stream, in any district (its watermark passed this window, so it has nothing
 * more to add here). A partition that stops publishing would hold windows open forever, so a
 * window is also completed when the stream's most advanced partition is `stallMs` of event time past its
 * end (default 5 minutes). Partials of a window already completed are counted as `stragglers` and ignored.
 *
 * @example
 * const completion = new DistrictWindowCompletion();
 * for (const totals of completion.apply(message)) evaluate(totals);
 */
export class DistrictWindowCompletion {
  private readonly table = new DistrictWindowTable();
  private readonly pending = new Map<string, PendingWindow>();
  private readonly partitions = new Map<Stream, Set<number>>();
  /** Per stream and partition, the greatest window_end of a final partial. */
  private readonly progress = new Map<Stream, Map<number, number>>();
  private readonly closed = new Map<string, number>();
  /** Partials of windows completed before they arrived. */
  stragglers = 0;

  constructor(private readonly stallMs = 300_000) {}

  /** Applies one partial; returns the totals of the windows it completed, oldest first. */
  apply(message: DistrictWindowMessage): DistrictWindowTotals[] {
    // Partition and progress count even for a straggler: its partition exists and has passed this window.
    let partitions = this.partitions.get(message.stream);
    if (!partitions) {
      partitions = new Set();
      this.partitions.set(message.stream, partitions);
    }
    partitions.add(message.partition);
    const key = `${message.stream}|${message.district}|${message.window_start}`;
    if (this.closed.has(key)) {
      this.stragglers += 1;
    } else if (this.table.apply(message) !== undefined) {
      let window = this.pending.get(key);
      if (!window) {
        window = {
          stream: message.stream,
          district: message.district,
          start: message.window_start,
          end: message.window_end,
          partials: new Map(),
        };
        this.pending.set(key, window);
      }
      window.partials.set(message.partition, message);
    }
    if (!message.final) return [];
    let progress = this.progress.get(message.stream);
    if (!progress) {
      progress = new Map();
      this.progress.set(message.stream, progress);
    }
    progress.set(
      message.partition,
      Math.max(progress.get(message.partition) ?? -Infinity, message.window_end),
    );
    return this.complete(message.stream);
  }

  private complete(stream: Stream): DistrictWindowTotals[] {
    const partitions = this.partitions.get(stream) ?? new Set<number>();
    const progress = this.progress.get(stream) ?? new Map<number, number>();
    let furthest = -Infinity;
    for (const end of progress.values()) furthest = Math.max(furthest, end);
    const done: PendingWindow[] = [];
    for (const [key, window] of this.pending) {
      if (window.stream !== stream) continue;
      let complete = furthest >= window.end + this.stallMs;
      if (!complete) {
        complete = true;
        for (const partition of partitions) {
          const partial = window.partials.get(partition);
          if (partial?.final) continue;
          // A final of a strictly later window: a final of this window's end for another district may sit on
          // another partition of the aggregates topic and arrive after this window's own final partial.
          if ((progress.get(partition) ?? -Infinity) > window.end) continue;
          complete = false;
          break;
        }
      }
      if (complete) {
        done.push(window);
        this.pending.delete(key);
        this.closed.set(key, window.end);
      }
    }
    if (done.length === 0) return [];
    done.sort((a, b) => a.start - b.start || a.district.localeCompare(b.district));
    const totals = done.map((w) => this.table.get(w.stream, w.district, w.start)!);
    this.evict(furthest);
    return totals;
  }

  private evict(furthest: number): void {
    let oldestPending = Infinity;
    for (const window of this.pending.values()) oldestPending = Math.min(oldestPending, window.end);
    // Windows ending before the oldest pending one are all complete: the table may forget them.
    this.table.evictBefore(Math.min(oldestPending - 1, furthest));
    for (const [key, end] of this.closed) if (end < furthest - 3_600_000) this.closed.delete(key);
  }

  /** Windows still waiting for partitions. */
  get pendingCount(): number {
    return this.pending.size;
  }

  snapshot(): DistrictWindowCompletionState {
    return {
      partials: [...this.pending.values()].flatMap((w) => [...w.partials.values()]),
      partitions: [...this.partitions].map(([stream, set]) => [stream, [...set]]),
      progress: [...this.progress].map(([stream, map]) => [stream, [...map]]),
      closed: [...this.closed],
    };
  }

  static restore(state: DistrictWindowCompletionState, stallMs?: number): DistrictWindowCompletion {
    const completion = new DistrictWindowCompletion(stallMs);
    for (const [stream, list] of state.partitions) completion.partitions.set(stream, new Set(list));
    for (const [stream, list] of state.progress) completion.progress.set(stream, new Map(list));
    for (const [key, end] of state.closed) completion.closed.set(key, end);
    for (const partial of state.partials) {
      const key = `${partial.stream}|${partial.district}|${partial.window_start}`;
      completion.table.apply(partial);
      let window = completion.pending.get(key);
      if (!window) {
        window = {
          stream: partial.stream,
          district: partial.district,
          start: partial.window_start,
          end: partial.window_end,
          partials: new Map(),
        };
        completion.pending.set(key, window);
      }
      window.partials.set(partial.partition, partial);
    }
    return completion;
  }
}
