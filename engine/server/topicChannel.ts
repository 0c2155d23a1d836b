import type { CatchupMessage, DeltaMessage, Entry, SnapshotMessage } from './protocol.ts';

/** One flushed delta kept for resumes. */
interface RetainedDelta {
  seq: number;
  up: Entry[];
  rm: string[];
  bytes: number;
}

/** Limits of a topic's resume buffer. */
export interface ResumeLimits {
  /** Deltas kept (default 240: a minute of 250 ms ticks). */
  maxDeltas: number;
  /** Serialised bytes kept (default 8 MiB); the oldest deltas go first. */
  maxBytes: number;
}

const DEFAULT_LIMITS: ResumeLimits = { maxDeltas: 240, maxBytes: 8 * 1024 * 1024 };

/**
 * The state of one topic (entities by key), its pending changes, its sequence number and a bounded
 * buffer of recent deltas for resumes.
 *
 * Changes accumulate between ticks with "latest value wins" per key; `flush()` turns them into one
 * delta, serialised once, that the server publishes to every subscriber.
 *
 * @example
 * const channel = new TopicChannel('districts');
 * channel.upsert('440304', { events: 12 }, kafkaTimestamp);
 * const payload = channel.flush(Date.now()); // '{"type":"delta","topic":"districts","seq":1,...}'
 */
export class TopicChannel {
  /** Seq of the last flushed delta (0 before the first). */
  seq = 0;
  /** The state at `seq`: what a snapshot contains. */
  private readonly published = new Map<string, unknown>();
  private pendingUp = new Map<string, unknown>();
  private pendingRm = new Set<string>();
  private pendingSrc = Number.POSITIVE_INFINITY;
  private readonly retained: RetainedDelta[] = [];
  private retainedBytes = 0;
  private snapshotCache: { seq: number; payload: string } | undefined;
  private readonly limits: ResumeLimits;

  constructor(
    readonly name: string,
    limits: Partial<ResumeLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Sets an entity's value; published at the next flush. `src` is the source time (epoch ms) of the change. */
  upsert(key: string, value: unknown, src: number): void {
    this.pendingRm.delete(key);
    this.pendingUp.set(key, value);
    if (src < this.pendingSrc) this.pendingSrc = src;
  }

  /** Removes an entity; a no-op for an unknown key. */
  remove(key: string, src: number): void {
    const wasPending = this.pendingUp.delete(key);
    if (this.published.has(key)) {
      this.pendingRm.add(key);
      if (src < this.pendingSrc) this.pendingSrc = src;
    } else if (wasPending && !this.hasPending) {
      this.pendingSrc = Number.POSITIVE_INFINITY;
    }
  }

  /** The current value of an entity, pending changes included. */
  get(key: string): unknown {
    if (this.pendingRm.has(key)) return undefined;
    return this.pendingUp.has(key) ? this.pendingUp.get(key) : this.published.get(key);
  }

  /** Current keys, pending changes included. */
  *keys(): IterableIterator<string> {
    for (const key of this.published.keys())
      if (!this.pendingRm.has(key) && !this.pendingUp.has(key)) yield key;
    yield* this.pendingUp.keys();
  }

  /** Number of entities at the last flushed seq. */
  get size(): number {
    return this.published.size;
  }

  get hasPending(): boolean {
    return this.pendingUp.size > 0 || this.pendingRm.size > 0;
  }

  /**
   * Turns the pending changes into the next delta and returns it serialised (once, for all subscribers),
   * or undefined when nothing changed.
   */
  flush(now: number): string | undefined {
    if (!this.hasPending) return undefined;
    this.seq += 1;
    const up = [...this.pendingUp];
    const rm = [...this.pendingRm];
    for (const [key, value] of up) this.published.set(key, value);
    for (const key of rm) this.published.delete(key);
    const message: DeltaMessage = {
      type: 'delta',
      topic: this.name,
      seq: this.seq,
      t: now,
      src: Number.isFinite(this.pendingSrc) ? this.pendingSrc : now,
      up,
      rm,
    };
    const payload = JSON.stringify(message);
    this.pendingUp = new Map();
    this.pendingRm = new Set();
    this.pendingSrc = Number.POSITIVE_INFINITY;
    this.retain({ seq: this.seq, up, rm, bytes: payload.length });
    return payload;
  }

  /**
   * The full state at the last flushed seq, serialised once per seq. Pending (unflushed) changes are
   * left out so that the next delta applies on top of it exactly.
   */
  snapshot(now: number): string {
    if (this.snapshotCache?.seq === this.seq) return this.snapshotCache.payload;
    const message: SnapshotMessage = {
      type: 'snapshot',
      topic: this.name,
      seq: this.seq,
      t: now,
      entities: [...this.published],
    };
    const payload = JSON.stringify(message);
    this.snapshotCache = { seq: this.seq, payload };
    return payload;
  }

  /**
   * What a client that has applied everything up to `since` needs to reach the current seq: the retained
   * deltas compacted into one `catchup` (latest value per key wins), `null` when it is already current,
   * or undefined when the resume buffer no longer reaches back that far (send a snapshot instead).
   */
  catchupSince(since: number, now: number): string | null | undefined {
    if (since === this.seq) return null;
    if (since > this.seq) return undefined;
    const first = this.retained[0];
    if (!first || first.seq > since + 1) return undefined;
    const up = new Map<string, unknown>();
    const rm = new Set<string>();
    for (const delta of this.retained) {
      if (delta.seq <= since) continue;
      for (const [key, value] of delta.up) {
        rm.delete(key);
        up.set(key, value);
      }
      for (const key of delta.rm) {
        up.delete(key);
        rm.add(key);
      }
    }
    const message: CatchupMessage = {
      type: 'catchup',
      topic: this.name,
      from: since,
      seq: this.seq,
      t: now,
      up: [...up],
      rm: [...rm],
    };
    return JSON.stringify(message);
  }

  /** Oldest seq a client can resume from (its last applied seq must be at least this). */
  get oldestResumableSeq(): number {
    const first = this.retained[0];
    return first ? first.seq - 1 : this.seq;
  }

  /** Bytes held by the resume buffer. */
  get retainedByteCount(): number {
    return this.retainedBytes;
  }

  private retain(delta: RetainedDelta): void {
    this.retained.push(delta);
    this.retainedBytes += delta.bytes;
    while (
      this.retained.length > this.limits.maxDeltas ||
      (this.retainedBytes > this.limits.maxBytes && this.retained.length > 1)
    ) {
      const dropped = this.retained.shift()!;
      this.retainedBytes -= dropped.bytes;
    }
  }
}
