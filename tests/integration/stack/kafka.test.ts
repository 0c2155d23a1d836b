import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

describe('Kafka broker of the local stack', () => {
  const topic = `test.stack.${uniqueSuffix()}`;
  const kafka = createKafka(testEnv, 'stack-test');
  const clients: Array<{ disconnect(): Promise<void> }> = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => {})));
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it('creates a topic with the configured number of partitions', async () => {
    expect(await ensureTopics(testEnv, [topic], 6)).toEqual([topic]);
    expect(await ensureTopics(testEnv, [topic], 6)).toEqual([]);
    const admin = kafka.admin();
    await admin.connect();
    const [metadata] = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata?.partitions).toHaveLength(6);
  });

  it('round-trips keyed messages through every partition, in order per key', async () => {
    const producer = kafka.producer({ 'linger.ms': 5, 'enable.idempotence': true });
    clients.push(producer);
    await producer.connect();
    const keys = Array.from({ length: 24 }, (_, k) => `vehicle-${k}`);
    const sent = keys.flatMap((key) => Array.from({ length: 25 }, (_, seq) => ({ key, seq })));
    await producer.send({
      topic,
      messages: sent.map(({ key, seq }) => ({ key, value: JSON.stringify({ key, seq }) })),
    });

    const consumer = kafka.consumer({
      kafkaJS: { groupId: `stack-test-${uniqueSuffix()}`, fromBeginning: true },
    });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    const received: Array<{ partition: number; key: string; seq: number }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.length} of ${sent.length} arrived`)),
        60_000,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }: KafkaJS.EachMessagePayload) => {
            const value = JSON.parse(String(message.value)) as { key: string; seq: number };
            received.push({ partition, ...value });
            if (received.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });

    expect(received).toHaveLength(sent.length);
    const partitionsUsed = new Set(received.map((r) => r.partition));
    expect(partitionsUsed.size).toBeGreaterThan(1);
    for (const key of keys) {
      const ofKey = received.filter((r) => r.key === key);
      // One key always lands in one partition, and Kafka keeps order within a partition.
      expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1);
      expect(ofKey.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    }
  });
});
