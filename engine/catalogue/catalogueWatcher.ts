import { ConfigWatcher } from '../config/configWatcher.ts';
import type { Logger } from '../observability/logger.ts';
import { diffCatalogues } from './catalogueDiff.ts';
import { type LoadedCatalogue, loadCatalogue } from './loadCatalogue.ts';

/** At most this many lines of a reload's diff go into its log line; the count says how many there were. */
const DIFF_LINES_LOGGED = 100;

/**
 * The catalogue, reloaded when its file changes (polled every 2 s): a valid new file is in force at once
 * for every exit that reads `current`, and the log names what changed (`catalogue diff`'s lines); an
 * invalid one is refused with its problems, and the catalogue in force stays.
 */
export function watchCatalogue(
  initial: LoadedCatalogue,
  logger: Logger,
  onChange: (next: LoadedCatalogue) => void = () => {},
  intervalMs = 2_000,
): ConfigWatcher<LoadedCatalogue> {
  return new ConfigWatcher(
    initial.path,
    initial,
    {
      what: 'catalogue',
      load: (path) => loadCatalogue(path),
      digest: (loaded) => loaded.digest,
      onChange,
      describe: (next, previous) => {
        const changes = diffCatalogues(previous.catalogue, next.catalogue);
        return { changes: changes.slice(0, DIFF_LINES_LOGGED), changeCount: changes.length };
      },
    },
    logger,
    intervalMs,
  );
}
