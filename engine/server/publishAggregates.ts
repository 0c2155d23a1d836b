import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { type AggregateMessage, aggregateKey } from '../contract/aggregates.ts';

/**
 * Produces aggregate messages to an aggregates topic the way the engine does (JSON value, key
 * `aggregateKey(message)`), for the map server's tests, the fan-out benchmark and `city-ops serve --demo`.
 *
 * @example
 * await publishAggregates(producer, internalTopic('aggregates', prefix), city.tick(Date.now()));
 */
export async function publishAggregates(
  producer: KafkaJS.Producer,
  topic: string,
  messages: readonly AggregateMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  await producer.send({
    topic,
    messages: messages.map((message) => ({ key: aggregateKey(message), value: JSON.stringify(message) })),
  });
}
