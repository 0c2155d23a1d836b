import type { KafkaJS } from '@confluentinc/kafka-javascript';
import KafkaJavascript from '@confluentinc/kafka-javascript';
import { type Environment, kafkaBrokers } from '../../config/environment.ts';
import { topicSettings } from '../../contract/topics.ts';
import { CityOpsError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { applyKafkaAccess, topicGrants } from '../../stack/kafkaAccess.ts';

const { Kafka, logLevel } = KafkaJavascript.KafkaJS;

export type KafkaClient = KafkaJS.Kafka;

/**
 * A client of `@confluentinc/kafka-javascript` (librdkafka) for the brokers in `KAFKA_BROKERS`, as the
 * environment's SCRAM-SHA-512 user when it has one (the local stack's user of this process), with the
 * client's own logs routed to our structured logger (warnings and errors only unless `LOG_LEVEL=debug`).
 */
export function createKafka(env: Environment, clientId: string, logger?: Logger): KafkaClient {
  const sasl =
    env.KAFKA_SASL_USERNAME === undefined
      ? {}
      : {
          sasl: {
            mechanism: 'scram-sha-512' as const,
            username: env.KAFKA_SASL_USERNAME,
            password: env.KAFKA_SASL_PASSWORD ?? '',
          },
        };
  return new Kafka({
    kafkaJS: {
      brokers: kafkaBrokers(env),
      clientId,
      ...sasl,
      logLevel: logger?.isLevelEnabled('debug') ? logLevel.INFO : logLevel.WARN,
      ...(logger ? { logger: toKafkaLogger(logger) } : {}),
    },
  });
}

/**
 * The same authentication for clients configured with librdkafka's own properties (the simulator's producer,
 * the engine's packed consumer): SASL/SCRAM-SHA-512 when the environment has a user, else nothing.
 */
export function librdkafkaAuth(env: Environment): Record<string, string> {
  if (env.KAFKA_SASL_USERNAME === undefined) return {};
  return {
    'security.protocol': 'sasl_plaintext',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': env.KAFKA_SASL_USERNAME,
    'sasl.password': env.KAFKA_SASL_PASSWORD ?? '',
  };
}

function toKafkaLogger(logger: Logger): KafkaJS.Logger {
  const adapt = (child: Logger): KafkaJS.Logger => ({
    info: (message, extra) => child.info(extra ?? {}, message),
    warn: (message, extra) => child.warn(extra ?? {}, message),
    error: (message, extra) => child.error(extra ?? {}, message),
    debug: (message, extra) => child.debug(extra ?? {}, message),
    namespace: (namespace) => adapt(child.child({ kafka: namespace })),
    setLogLevel: () => {},
  });
  return adapt(logger.child({ component: 'kafka-client' }));
}

/**
 * Creates the topics that do not exist yet, with `partitions` partitions each. Existing topics are left
 * as they are (their partition count is reported, not changed). Returns the names created.
 */
export async function ensureTopics(
  env: Environment,
  topics: readonly string[],
  partitions: number = env.KAFKA_PARTITIONS,
): Promise<string[]> {
  const admin = createKafka(env, 'city-ops-admin').admin();
  let missing: string[];
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics({ timeout: 10_000 }));
    missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        timeout: 30_000,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: partitions,
          configEntries: topicSettings(topic),
        })),
      });
    }
  } catch (cause) {
    throw new CityOpsError('SERVICE_UNAVAILABLE', `could not list or create topics on ${env.KAFKA_BROKERS}`, {
      cause,
      hint: 'is the broker up, and may this user create topics? `city-ops stack status` tells; set KAFKA_BROKERS for another cluster',
    });
  } finally {
    await admin.disconnect().catch(() => {});
  }
  // On the local stack, each service gets its rights on the new topics (engine/stack/kafkaAccess.ts).
  applyKafkaAccess(env, topicGrants(missing));
  return missing;
}
