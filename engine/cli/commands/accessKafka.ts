import { DepartmentKafka, departmentKafkaPath } from '../../access/departmentKafka.ts';
import type { GrantStore } from '../../access/grantStore.ts';
import { watchCatalogue } from '../../catalogue/catalogueWatcher.ts';
import type { LoadedCatalogue } from '../../catalogue/loadCatalogue.ts';
import type { Environment } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { applyKafkaAccess } from '../../stack/kafkaAccess.ts';

/** How long grants read last hold when the store cannot be read (a revocation must act within 60 s). */
const GRANTS_STALE_MS = 45_000;

/**
 * `kafka`: each department's Kafka user and the topics it may read, kept equal to the catalogue and the
 * grants every --every seconds (default 15, so that a revocation closes a topic within 60 s even with the
 * 15 s a pass may wait and the few seconds the JVM takes to apply it).
 */
export async function syncKafka(
  env: Environment,
  store: GrantStore,
  loaded: LoadedCatalogue,
  values: Record<string, string | boolean | undefined>,
  out: (line: string) => void,
): Promise<number> {
  const every = Number(values['every'] ?? 15);
  if (!Number.isFinite(every) || every < 1 || every > 40)
    throw new CityOpsError('CLI_USAGE', `--every must be 1 to 40 seconds, not '${values['every']}'`, {
      hint: 'a revocation must close the topic within 60 s',
    });
  if (env.KAFKA_SASL_USERNAME !== 'admin')
    throw new CityOpsError('CONFIG_INVALID', 'department Kafka users are set by the stack admin', {
      hint: 'run it without KAFKA_SASL_USERNAME (the local stack admin), after city-ops stack up',
    });
  const logger = createLogger('department-kafka');
  const catalogue = watchCatalogue(loaded, logger);
  catalogue.start();
  let grants = await store.current();
  let readAt = Date.now();
  const policy = {
    get catalogue() {
      return catalogue.current.catalogue;
    },
    grants: () => grants,
  };
  const path = departmentKafkaPath(env.CITY_OPS_STACK_DIR);
  const kafka = new DepartmentKafka(path, (lines) => applyKafkaAccess(env, lines));
  try {
    for (;;) {
      try {
        try {
          grants = await store.current();
          readAt = Date.now();
        } catch (error) {
          if (values['once']) throw error;
          // Fail closed: grants that cannot be read for long are taken as none, which closes every
          // conditional topic, rather than keeping a revoked grant's topic open.
          const stale = Date.now() - readAt > GRANTS_STALE_MS;
          if (stale) grants = [];
          logger.error(
            { err: error, stale },
            stale
              ? 'grants unreadable too long: planning with none'
              : 'grants unreadable; the last read hold',
          );
        }
        const { rights, added, revoked } = await kafka.sync(policy, env.CITY_OPS_TOPIC_PREFIX);
        if (added.length + revoked.length > 0 || values['once']) {
          for (const r of rights) out(`${r.user}: ${r.topics.join(', ') || 'no topic'}`);
          out(`applied ${added.length} rules, revoked ${revoked.length} (passwords: ${path})`);
        }
      } catch (error) {
        if (values['once']) throw error;
        logger.error({ err: error }, 'department Kafka users: this pass failed; the next one tries again');
      }
      if (values['once']) return 0;
      await new Promise((r) => setTimeout(r, every * 1000));
    }
  } finally {
    catalogue.stop();
  }
}
