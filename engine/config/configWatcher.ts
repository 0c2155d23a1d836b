import { unwatchFile, watchFile } from 'node:fs';
import { isCityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/** What a watcher needs to know of one kind of configuration file. */
export interface WatchedConfig<T> {
  /** Reads and validates the file; throws (CONFIG_INVALID) with every problem. */
  load(path: string): Promise<T>;
  /** Identifies a file's content: a reload that changed nothing is not applied. */
  digest(config: T): string;
  /** Called with the new configuration once it is in force. */
  onChange(next: T, previous: T): void;
  /** What the log says of an applied reload (e.g. a diff). */
  describe(next: T, previous: T): Record<string, unknown>;
  /** `alert rules`, `catalogue`: the log's words for the file. */
  readonly what: string;
}

/**
 * Reloads a configuration file without a restart: when the file changes (polled every `intervalMs`,
 * default 1000, which also sees editors that replace the file) or on `reload()`. A file that fails
 * validation is rejected with its errors logged, and the running configuration stays in force.
 */
export class ConfigWatcher<T> {
  #current: T;
  #reloading: Promise<boolean> | undefined;
  #again = false;
  readonly #onFileChange = () => {
    void this.reload();
  };

  constructor(
    private readonly path: string,
    initial: T,
    private readonly kind: WatchedConfig<T>,
    private readonly logger: Logger,
    private readonly intervalMs = 1_000,
  ) {
    this.#current = initial;
  }

  /** The configuration in force. */
  get current(): T {
    return this.#current;
  }

  start(): void {
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, this.#onFileChange);
  }

  stop(): void {
    unwatchFile(this.path, this.#onFileChange);
  }

  /**
   * Loads the file again; resolves true when a new configuration was applied. A change seen while a load
   * runs (which may have read the file before it) is loaded again once that load is done.
   */
  reload(): Promise<boolean> {
    if (this.#reloading !== undefined) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = this.#load().finally(() => {
      this.#reloading = undefined;
      if (this.#again) {
        this.#again = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  async #load(): Promise<boolean> {
    try {
      const next = await this.kind.load(this.path);
      const previous = this.#current;
      if (this.kind.digest(next) === this.kind.digest(previous)) return false;
      this.#current = next;
      this.kind.onChange(next, previous);
      this.logger.info(
        { path: this.path, ...this.kind.describe(next, previous) },
        `${this.kind.what} reloaded`,
      );
      return true;
    } catch (error) {
      this.logger.error(
        { path: this.path, error: isCityOpsError(error) ? error.message : String(error) },
        `${this.kind.what} file rejected; the previous one stays in force`,
      );
      return false;
    }
  }
}
