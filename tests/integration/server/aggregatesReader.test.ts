import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import type { AggregateMessage } from '../../../engine/contract/aggregates.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { type AggregatesReader, startAggregatesReader } from '../../../engine/server/aggregatesReader.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

/**
 * Right after a topic is created, the broker answers -1 for the offsets of partitions whose leader is not
 * elected yet (2 of 5 fresh topics here, 1 to 3 partitions each). The reader used to skip those partitions
 * when it sought, so they started at their end offset of the moment the group assigned them, seconds
 * later, and what was published in between never reached the map (mapServer.test.ts failed that way once
 * in CI, where the assignment came 3 s after the seeks: "consumption not reached").
 *
 * Each round uses fresh topics. The reader must seek every partition (the old code sought 9 to 11 of 12 in
 * 4 rounds of 8 here), and read what is published into every partition as soon as it has started. Here
 * the group assignment comes within 50 ms, usually before the first message, so that second check alone
 * would rarely catch the old code.
 */
describe('aggregates reader on topics created a moment ago', () => {
  const kafka = createKafka(testEnv, 'aggregates-reader-test');
  const prefixes: string[] = [];
  const readers: AggregatesReader[] = [];

  afterAll(async () => {
    await Promise.all(readers.map((r) => r.stop()));
    const admin = kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({
        topics: prefixes.flatMap((p) => [internalTopic('aggregates', p), internalTopic('alerts', p)]),
      })
      .catch(() => {});
    await admin.disconnect();
  });

  it('reads what was published to every partition before it was assigned', async () => {
    const producer = kafka.producer({ 'linger.ms': 0 });
    await producer.connect();
    try {
      for (let round = 0; round < 8; round += 1) {
        const prefix = `test.reader.${uniqueSuffix()}.`;
        prefixes.push(prefix);
        const received = new Set<number>();
        const reader = await startAggregatesReader({
          env: testEnv,
          logger: createLogger('aggregates-reader-test', 'warn'),
          topicPrefix: prefix,
          onAggregate: (message) => {
            if (message.kind === 'watermark') received.add(message.partition);
          },
          onAlert: () => {},
          onInvalid: () => {},
        });
        readers.push(reader);
        const partitions = testEnv.KAFKA_PARTITIONS;
        // Both topics have KAFKA_PARTITIONS partitions; every one of them is sought.
        expect(reader.sought, `round ${round}: partitions sought`).toBe(2 * partitions);
        const now = Date.now();
        await producer.send({
          topic: reader.topics.aggregates,
          messages: Array.from({ length: partitions }, (_, partition) => {
            const message: AggregateMessage = {
              kind: 'watermark',
              stream: 'transport',
              partition,
              watermark: now,
              at: now,
            };
            return { partition, key: `p${partition}`, value: JSON.stringify(message) };
          }),
        });
        const deadline = Date.now() + 30_000;
        while (received.size < partitions && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        expect(
          [...received].sort((a, b) => a - b),
          `round ${round}`,
        ).toEqual(Array.from({ length: partitions }, (_, p) => p));
      }
    } finally {
      await producer.disconnect();
    }
  });
});
