import { watchCatalogue } from '../catalogue/catalogueWatcher.ts';
import { loadCatalogue } from '../catalogue/loadCatalogue.ts';
import type { Environment } from '../config/environment.ts';
import { createClickHouse } from '../connectors/clickhouse/client.ts';
import type { Logger } from '../observability/logger.ts';
import { defaultTokensPath } from './departmentTokens.ts';
import { ExchangeLedger } from './exchangeLedger.ts';
import { GrantStore } from './grantStore.ts';
import { GrantsCache, type GrantsCacheOptions } from './grantsCache.ts';
import { defaultLedgerKeyPath, ledgerKey, ledgerSpoolPath } from './ledgerKey.ts';
import { type MapAccess, tokensFromFile } from './mapAccess.ts';
import { type MapLedger, mapLedger } from './mapLedger.ts';

export interface MapAccessSetup {
  /** The catalogue file (default config/catalogue.yaml). */
  catalogue?: string;
  /** The department tokens' digests (default `<stack dir>/department-tokens.json`). */
  tokens?: string;
  grants?: Omit<GrantsCacheOptions, 'logger' | 'onChange'>;
  recheckMs?: number;
  /** The ledger writer's name: one process per name, since each writer keeps its own chains. */
  writer?: string;
  ledgerIntervalMs?: number;
}

/**
 * The map server's access model for a deployment: the catalogue (reloaded when its file changes), the
 * departments' tokens from their file,
 * the grants read from ClickHouse (`city.grants`, as the analyst) every 15 s, and the exchange ledger of
 * its deliveries (written as the engine's user: ClickHouse 18.16 cannot limit a user to one table).
 * `stop` ends the reads and writes the ledger's last rows.
 */
export async function startMapAccess(
  env: Environment,
  logger: Logger,
  setup: MapAccessSetup = {},
): Promise<{ access: MapAccess; ledger: MapLedger; stop(): Promise<void> }> {
  const catalogue = watchCatalogue(await loadCatalogue(setup.catalogue), logger);
  catalogue.start();
  const client = createClickHouse(env, 'analyst', { requestTimeoutMs: 10_000 });
  const store = new GrantStore(client, env.CLICKHOUSE_DATABASE, (id, problem) =>
    logger.error({ grant: id, problem }, 'a row of city.grants is not a valid grant; it is skipped'),
  );
  const grants = new GrantsCache(() => store.current(), { ...setup.grants, logger });
  await grants.start();
  const tokensPath = setup.tokens ?? defaultTokensPath(env.CITY_OPS_STACK_DIR);
  const tokens = tokensFromFile(tokensPath, (error) =>
    logger.error({ err: error, path: tokensPath }, 'cannot read the department tokens; none is accepted'),
  );
  const access: MapAccess = {
    tokens,
    policy: {
      get catalogue() {
        return catalogue.current.catalogue;
      },
      grants: () => grants.grants(),
    },
    health: () => {
      const health = grants.health();
      // Without department tokens nothing depends on the grants: the operator sees every layer.
      return { ...health, ok: health.ok || tokens().length === 0, departments: tokens().length };
    },
    ...(setup.recheckMs === undefined ? {} : { recheckMs: setup.recheckMs }),
  };
  const writerClient = createClickHouse(env, 'engine', { requestTimeoutMs: 10_000 });
  const writer = setup.writer ?? 'map-server';
  const ledger = new ExchangeLedger(writerClient, env.CLICKHOUSE_DATABASE, writer, {
    logger,
    key: ledgerKey(defaultLedgerKeyPath(env.CITY_OPS_STACK_DIR)),
    spoolPath: ledgerSpoolPath(env.CITY_OPS_STACK_DIR, env.CLICKHOUSE_DATABASE, writer),
    ...(setup.ledgerIntervalMs === undefined ? {} : { intervalMs: setup.ledgerIntervalMs }),
  });
  ledger.start();
  return {
    access,
    ledger: mapLedger(ledger, access.policy),
    stop: async () => {
      catalogue.stop();
      grants.stop();
      await ledger.stop();
      await Promise.all([client.close(), writerClient.close()]);
    },
  };
}
