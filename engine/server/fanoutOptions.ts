/** Fan-out limits and timing; every field has a default. */
export interface FanoutOptions {
  /**
   * Batching: changes are flushed once the input has been quiet for `quietMs`, and at the latest `tickMs`
   * after the first pending change (default 250): a burst (one engine tick) goes out as one delta per
   * topic as soon as it is complete, and a steady stream goes out once per tick.
   */
  tickMs: number;
  /** Quiet time that ends a burst, ms (default 30). */
  quietMs: number;
  /** Never two flushes closer than this, ms (default 50). */
  minFlushIntervalMs: number;
  /** A client whose send buffer exceeds this (bytes, default 1 MiB) stops getting deltas until it drains. */
  highWaterBytes: number;
  /** A lagging client is caught up once its buffer is below this (bytes, default 256 KiB). */
  lowWaterBytes: number;
  /** A client whose buffer exceeds this (bytes, default 16 MiB) is disconnected at once. */
  maxBufferedBytes: number;
  /** A client lagging longer than this (ms, default 15 s) is disconnected. */
  slowClientTimeoutMs: number;
  /** How often stale entities are evicted (ms, default 5 s). */
  evictEveryMs: number;
  /**
   * Messages a client may send in a burst (default 20), then `messagesPerSecond` (default 2): a subscribe
   * costs the server a snapshot per topic, so a client sending them in a loop is slowed down, then closed.
   */
  messageBurst: number;
  messagesPerSecond: number;
}

export const FANOUT_DEFAULTS: FanoutOptions = {
  tickMs: 250,
  quietMs: 30,
  minFlushIntervalMs: 50,
  highWaterBytes: 1024 * 1024,
  lowWaterBytes: 256 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  slowClientTimeoutMs: 15_000,
  evictEveryMs: 5_000,
  messageBurst: 20,
  messagesPerSecond: 2,
};
