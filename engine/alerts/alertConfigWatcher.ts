import { unwatchFile, watchFile } from 'node:fs';
import { isCityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { type LoadedAlertConfig, loadAlertConfig } from './loadAlertConfig.ts';

/**
 * Reloads the alert rules file without a restart: when the file changes (polled every `intervalMs`,
 * default 1000, which also sees editors that replace the file) or on `reload()` (wired to SIGHUP by
 * `city-ops alerts`). A file that fails validation is rejected with its errors logged, and the running
 * configuration stays in force.
 *
 * @example
 * const watcher = new AlertConfigWatcher(path, initial, logger, (next) => evaluator.setConfig(next));
 * watcher.start();
 */
export class AlertConfigWatcher {
  private current: LoadedAlertConfig;
  private reloading: Promise<boolean> | undefined;
  private readonly onFileChange = () => {
    void this.reload();
  };

  constructor(
    private readonly path: string,
    initial: LoadedAlertConfig,
    private readonly logger: Logger,
    private readonly onChange: (next: LoadedAlertConfig) => void,
    private readonly intervalMs = 1_000,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.current = initial;
  }

  /** The configuration in force. */
  get config(): LoadedAlertConfig {
    return this.current;
  }

  start(): void {
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, this.onFileChange);
  }

  stop(): void {
    unwatchFile(this.path, this.onFileChange);
  }

  /** Loads the file again; resolves true when a new configuration was applied. */
  reload(): Promise<boolean> {
    this.reloading ??= this.load().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async load(): Promise<boolean> {
    try {
      const next = await loadAlertConfig(this.path, this.env);
      if (next.digest === this.current.digest) return false;
      this.current = next;
      this.onChange(next);
      this.logger.info(
        { path: this.path, rules: next.config.rules.length, endpoints: next.endpoints.size },
        'alert rules reloaded',
      );
      return true;
    } catch (error) {
      this.logger.error(
        { path: this.path, error: isCityOpsError(error) ? error.message : String(error) },
        'alert rules file rejected; the previous rules stay in force',
      );
      return false;
    }
  }
}
