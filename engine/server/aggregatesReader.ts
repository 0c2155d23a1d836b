import { hostname } from 'node:os';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Environment } from '../config/environment.ts';
import { createKafka, ensureTopics } from '../connectors/kafka/client.ts';
import { AggregateMessage } from '../contract/aggregates.ts';
import { internalTopic } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { type AlertEntity, isCaseNotice, parseAlertEvent } from './alertEvent.ts';
import { type ReaderHealth, ReaderWatch } from './readerWatch.ts';

/** Where the serving tier reads from and what it does with each record. */
export interface AggregatesReaderOptions {
  env: Environment;
  logger: Logger;
  /** Topic prefix (default `env.CITY_OPS_TOPIC_PREFIX`). */
  topicPrefix?: string;
  /** Start this far back (ms, default 60 min), so the map has the last hour of pulse and open incidents. */
  historyMs?: number;
  onAggregate(message: AggregateMessage, kafkaTimestamp: number): void;
  onAlert(alert: AlertEntity, kafkaTimestamp: number): void;
  onInvalid(topic: string, reason: string): void;
  /** Records waiting and nothing read for this long (ms, default 30 s): unhealthy (see `ReaderWatch`). */
  stallMs?: number;
  /** How often that is checked (ms, default 5 s). */
  checkMs?: number;
}

/** A running reader; `stop()` disconnects it. */
export interface AggregatesReader {
  readonly topics: { aggregates: string; alerts: string };
  /** Partitions (of both topics) sought to their offset of `now - historyMs`: all of them. */
  readonly sought: number;
  /** Whether it still reads: false once its consumer stopped or stalled with records waiting. */
  health(): ReaderHealth;
  stop(): Promise<void>;
}

/**
 * Reads the whole aggregates topic and the alerts topic for one map server. Every map server needs
 * every partition, so there is no group sharing: each instance uses a group id of its own (host, pid
 * and a random part), commits nothing, and seeks each partition to the offset of `now - historyMs`.
 *
 * @example
 * const reader = await startAggregatesReader({ env, logger, onAggregate, onAlert, onInvalid });
 * await reader.stop();
 */
export async function startAggregatesReader(options: AggregatesReaderOptions): Promise<AggregatesReader> {
  const { env, logger } = options;
  const prefix = options.topicPrefix ?? env.CITY_OPS_TOPIC_PREFIX;
  const topics = { aggregates: internalTopic('aggregates', prefix), alerts: internalTopic('alerts', prefix) };
  await ensureTopics(env, [topics.aggregates, topics.alerts]);
  const kafka = createKafka(env, 'city-ops-map-server', logger);
  const startAt = Date.now() - (options.historyMs ?? 60 * 60_000);

  const admin = kafka.admin();
  const seeks: Array<{ topic: string; partition: number; offset: string }> = [];
  try {
    await admin.connect();
    for (const topic of [topics.aggregates, topics.alerts]) {
      // A topic created a moment ago may not be known to every broker yet, and a partition whose leader is
      // not elected yet answers -1: retry briefly until every partition has an offset. A partition left
      // without a seek would start at the end offset of the moment it is assigned (seconds later), and
      // what was published meanwhile would never reach the map (seen in a CI run of mapServer.test.ts).
      for (let attempt = 1; ; attempt += 1) {
        try {
          const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, startAt);
          const unknown = offsets.filter(({ offset }) => !(Number(offset) >= 0)).map((o) => o.partition);
          if (offsets.length === 0 || unknown.length > 0)
            throw new Error(
              `no offset yet for ${offsets.length === 0 ? 'any partition' : `partitions ${unknown.join(', ')}`} of ${topic}`,
            );
          for (const { partition, offset } of offsets) seeks.push({ topic, partition, offset });
          break;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  } catch (cause) {
    throw new CityOpsError('SERVICE_UNAVAILABLE', `could not read the offsets of ${topics.aggregates}`, {
      cause,
      hint: 'is Kafka up? `city-ops stack status` tells',
    });
  } finally {
    await admin.disconnect().catch(() => {});
  }

  const groupId = `city-ops-map-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({
    kafkaJS: { groupId, fromBeginning: false, autoCommit: false },
    'js.consumer.max.batch.size': 2000,
    'fetch.wait.max.ms': 20,
  } as KafkaJS.ConsumerConstructorConfig);
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.aggregates, topics.alerts] });
  for (const seek of seeks) consumer.seek(seek);
  const watchAdmin = kafka.admin();
  await watchAdmin.connect();
  const watch = new ReaderWatch(
    watchAdmin,
    [topics.aggregates, topics.alerts],
    logger,
    options.stallMs,
    options.checkMs,
  );
  for (const seek of seeks) watch.sought(seek.topic, seek.partition, seek.offset);
  watch.start();

  let stopped = false;
  const handle = (topic: string, message: KafkaJS.KafkaMessage): void => {
    const timestamp = Number(message.timestamp);
    if (topic === topics.alerts) {
      const alert = parseAlertEvent(message.value, (message.headers ?? {}) as Record<string, unknown>);
      if (alert) options.onAlert(alert, timestamp);
      else if (!isCaseNotice(message.value))
        options.onInvalid(topic, 'not a city.alert.firing/resolved CloudEvent with an alert_id');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(String(message.value));
    } catch {
      options.onInvalid(topic, 'not JSON');
      return;
    }
    const parsed = AggregateMessage.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      options.onInvalid(topic, issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid');
      return;
    }
    options.onAggregate(parsed.data, timestamp);
  };

  consumer
    .run({
      eachBatch: async ({ batch }: KafkaJS.EachBatchPayload) => {
        for (const message of batch.messages) {
          if (stopped) return;
          try {
            handle(batch.topic, message);
          } catch (error) {
            // One record the live state cannot take must not stop the map for every later one.
            options.onInvalid(batch.topic, `could not be applied: ${(error as Error).message}`);
          }
          watch.read(batch.topic, batch.partition, message.offset);
        }
      },
    })
    // run() resolves once the consumer runs; only its rejection says it will read nothing more.
    .catch((error: unknown) => {
      logger.error({ err: error }, 'aggregates consumer stopped');
      watch.died(String(error));
    });
  logger.info(
    { topics, groupId, from: new Date(startAt).toISOString(), partitions: seeks.length },
    'reading aggregates',
  );

  return {
    topics,
    sought: seeks.length,
    health: () => watch.state,
    async stop() {
      stopped = true;
      watch.stop();
      await consumer.disconnect().catch(() => {});
      await watchAdmin.disconnect().catch(() => {});
    },
  };
}
