import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Environment } from '../config/environment.ts';
import { ensureTopics, type KafkaClient } from '../connectors/kafka/client.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { type AlertTopics, alertTopics } from './alertTopics.ts';

/**
 * Creates the alert topics that are missing (their settings: `topicSettings` in engine/contract/topics.ts),
 * with `partitions` partitions each.
 */
export async function ensureAlertTopics(
  env: Environment,
  partitions = env.KAFKA_PARTITIONS,
): Promise<AlertTopics> {
  const topics = alertTopics(env.CITY_OPS_TOPIC_PREFIX);
  await ensureTopics(env, Object.values(topics), partitions);
  return topics;
}

/**
 * Reads a topic from its beginning up to its end as of the call (high watermarks), handing every record to
 * `onRecord` in order per partition. Used to load the compacted acknowledgement and snapshot topics at start.
 * Uses a throw-away consumer group, deleted afterwards.
 */
export async function readTopicToEnd(
  kafka: KafkaClient,
  topic: string,
  onRecord: (record: { partition: number; offset: string; key: string | null; value: Buffer | null }) => void,
  logger?: Logger,
  timeoutMs = 120_000,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `city-ops-reader-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const remaining = new Map<number, bigint>();
    for (const p of offsets)
      if (BigInt(p.high) > BigInt(p.low)) remaining.set(p.partition, BigInt(p.high) - 1n);
    if (remaining.size === 0) return 0;
    const consumer = kafka.consumer({
      kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
      'js.consumer.max.batch.size': 1000,
    } as KafkaJS.ConsumerConstructorConfig);
    let count = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new CityOpsError(
                'SERVICE_UNAVAILABLE',
                `reading ${topic} to its end took over ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
        consumer
          .run({
            eachBatch: async ({ batch }: KafkaJS.EachBatchPayload) => {
              for (const message of batch.messages) {
                const last = remaining.get(batch.partition);
                if (last === undefined || BigInt(message.offset) > last) continue;
                count += 1;
                onRecord({
                  partition: batch.partition,
                  offset: message.offset,
                  key: message.key ? message.key.toString() : null,
                  value: message.value,
                });
                if (BigInt(message.offset) >= last) remaining.delete(batch.partition);
              }
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => {});
    }
    logger?.debug({ topic, records: count }, 'topic read to its end');
    return count;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}
