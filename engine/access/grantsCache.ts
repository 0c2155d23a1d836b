import type { Grant } from '../catalogue/projection.ts';
import type { Logger } from '../observability/logger.ts';

export interface GrantsCacheOptions {
  /** How often the grants are read again (ms, default 15 s). */
  refreshMs?: number;
  /**
   * Grants older than this (ms, default 45 s) are no longer trusted: while the store cannot be read, no
   * conditional class goes out. With the refresh, a revocation takes effect within `refreshMs` when the
   * store is up and within `maxAgeMs` when it is not, so within 60 s either way.
   */
  maxAgeMs?: number;
  /** Called after each read that changed the grants (the exits re-check what they deliver). */
  onChange?: (grants: readonly Grant[]) => void;
  logger?: Logger;
}

/**
 * The grants as the exits see them: read from the store every `refreshMs`, held between reads, and
 * dropped (fail closed) once older than `maxAgeMs`. Expiry needs no read: `isLive` judges each grant at
 * the time of the request.
 */
export class GrantsCache {
  readonly #load: () => Promise<readonly Grant[]>;
  readonly #refreshMs: number;
  readonly #maxAgeMs: number;
  readonly #options: GrantsCacheOptions;
  #grants: readonly Grant[] = [];
  #readAt = 0;
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #signature = '';

  constructor(load: () => Promise<readonly Grant[]>, options: GrantsCacheOptions = {}) {
    this.#load = load;
    this.#refreshMs = options.refreshMs ?? 15_000;
    this.#maxAgeMs = options.maxAgeMs ?? 45_000;
    this.#options = options;
  }

  /** Reads once and keeps reading every `refreshMs`. A failed first read leaves no grants, not an error. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The grants to judge by now: none once the last good read is older than `maxAgeMs`. */
  grants(now = Date.now()): readonly Grant[] {
    if (now - this.#readAt > this.#maxAgeMs) {
      if (this.#grants.length > 0) this.#replace([]);
      return [];
    }
    return this.#grants;
  }

  /** For /health: whether the grants are fresh, their age and the last read's error. */
  health(now = Date.now()): { ok: boolean; age_s: number | null; error?: string } {
    const age = this.#readAt === 0 ? null : (now - this.#readAt) / 1000;
    return {
      ok: this.#readAt !== 0 && now - this.#readAt <= this.#maxAgeMs,
      age_s: age,
      ...(this.#lastError ? { error: this.#lastError } : {}),
    };
  }

  /** Reads the store now (one read at a time); a failure keeps the grants until they are too old. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    // The grants are as old as the moment the read began, not the moment it ended.
    const startedAt = Date.now();
    try {
      const grants = await this.#load();
      this.#readAt = startedAt;
      this.#lastError = undefined;
      this.#replace(grants);
    } catch (error) {
      this.#lastError = error instanceof Error ? error.message : String(error);
      this.#options.logger?.warn(
        { err: error },
        'cannot read the grants; the ones read last hold until they are too old',
      );
      this.grants();
    }
  }

  #replace(grants: readonly Grant[]): void {
    const signature = JSON.stringify(grants);
    this.#grants = grants;
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#options.onChange?.(grants);
  }
}
