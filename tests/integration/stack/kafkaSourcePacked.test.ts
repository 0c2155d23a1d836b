import { afterAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { KafkaSource, type SourceMessage } from '../../../engine/connectors/kafka/source.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

/**
 * The engine's consumer reads each poll's messages packed (the patched Kafka client's ToPackedV8Object,
 * patches/); without the patch, or with `packedConsume: false`, it reads one object per message. Both
 * must hand on exactly the same messages.
 */
describe('KafkaSource: packed consume against an object per message', () => {
  const topics = [`test.packed.a.${uniqueSuffix()}`, `test.packed.b.${uniqueSuffix()}`];
  const kafka = createKafka(testEnv, 'packed-test');

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  });

  async function readAll(packedConsume: boolean, expected: number): Promise<string[]> {
    const seen: string[] = [];
    const source = new KafkaSource(testEnv, {
      groupId: `packed-test-${packedConsume}-${uniqueSuffix()}`,
      clientId: `packed-test-${packedConsume}-${uniqueSuffix()}`,
      topics,
      onAssign: async () => {},
      onRevoke: () => {},
      packedConsume,
      logger: createLogger('packed-test', 'warn'),
    });
    await source.connect();
    const describe = (m: SourceMessage) =>
      JSON.stringify([
        m.topic,
        m.partition,
        m.offset,
        m.timestamp,
        m.key === null ? null : Buffer.from(m.key).toString('utf8'),
        m.value === null ? null : m.value.toString('utf8'),
      ]);
    const deadline = Date.now() + 60_000;
    try {
      while (seen.length < expected && Date.now() < deadline) {
        for (const m of await source.poll(500)) seen.push(describe(m));
      }
    } finally {
      await source.close();
    }
    // The client is the patched one (bin/bootstrap.mjs), so each mode is the one asked for.
    expect(source.packed).toBe(packedConsume);
    return seen.sort();
  }

  it('hands on the same messages, keys and values (null, empty, multi-byte) in both modes', async () => {
    await ensureTopics(testEnv, topics, 3);
    const producer = kafka.producer({ 'linger.ms': 5 });
    await producer.connect();
    const messages = Array.from({ length: 900 }, (_, i) => ({
      key: i % 7 === 0 ? null : i % 11 === 0 ? '' : `vehicle-${i % 40}`,
      value: i % 13 === 0 ? null : i % 17 === 0 ? '' : JSON.stringify({ i, name: `深圳 №${i}` }),
    }));
    for (const topic of topics) {
      await producer.send({
        topic,
        messages: messages.map((m) => ({
          key: m.key,
          value: m.value === null ? null : Buffer.from(m.value),
        })),
      });
    }
    await producer.disconnect();

    const packed = await readAll(true, 2 * messages.length);
    const objects = await readAll(false, 2 * messages.length);
    expect(packed).toHaveLength(2 * messages.length);
    expect(packed).toEqual(objects);
    const values = packed.map((p) => (JSON.parse(p) as unknown[])[5]);
    // librdkafka hands an empty value over as null, in both modes.
    expect(values.filter((v) => v === null)).toHaveLength(
      2 * messages.filter((m) => m.value === null || m.value === '').length,
    );
    expect(values.some((v) => typeof v === 'string' && v.includes('深圳'))).toBe(true);
  });
});
