import { ConfigWatcher } from '../config/configWatcher.ts';
import type { Logger } from '../observability/logger.ts';
import { type LoadedAlertConfig, loadAlertConfig } from './loadAlertConfig.ts';

/**
 * Reloads the alert rules file without a restart (engine/config/configWatcher.ts): when the file changes
 * or on `reload()` (wired to SIGHUP by `city-ops alerts`). A file that fails validation is rejected with
 * its errors logged, and the running rules stay in force.
 *
 * @example
 * const watcher = new AlertConfigWatcher(path, initial, logger, (next) => evaluator.setConfig(next));
 * watcher.start();
 */
export class AlertConfigWatcher extends ConfigWatcher<LoadedAlertConfig> {
  constructor(
    path: string,
    initial: LoadedAlertConfig,
    logger: Logger,
    onChange: (next: LoadedAlertConfig) => void,
    intervalMs = 1_000,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    super(
      path,
      initial,
      {
        what: 'alert rules',
        load: (file) => loadAlertConfig(file, env),
        digest: (config) => config.digest,
        onChange,
        describe: (next) => ({ rules: next.config.rules.length, endpoints: next.endpoints.size }),
      },
      logger,
      intervalMs,
    );
  }

  /** The configuration in force. */
  get config(): LoadedAlertConfig {
    return this.current;
  }
}
