import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Environment } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { createKafka } from './client.ts';

export interface SinkMessage {
  readonly key: string;
  readonly value: string;
}

/**
 * A Kafka producer for city-ops' own topics (dead letters, aggregates, alerts): idempotent, `acks=all`,
 * lz4, a short linger so live updates are not held back. `send` resolves once every message is
 * acknowledged by the broker, so callers may commit what depends on it.
 */
export class KafkaSink {
  readonly #producer: KafkaJS.Producer;
  #connected = false;

  constructor(env: Environment, clientId: string, logger?: Logger, options: { lingerMs?: number } = {}) {
    this.#producer = createKafka(env, clientId, logger).producer({
      'enable.idempotence': true,
      acks: -1,
      'compression.type': 'lz4',
      'linger.ms': options.lingerMs ?? 5,
      'batch.num.messages': 10_000,
      'queue.buffering.max.kbytes': 262_144,
    });
  }

  async connect(): Promise<void> {
    if (this.#connected) return;
    await this.#producer.connect();
    this.#connected = true;
  }

  /** Sends and waits for the broker's acknowledgement of every message. */
  async send(topic: string, messages: readonly SinkMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.#producer.send({ topic, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
    } catch (cause) {
      throw new CityOpsError(
        'SINK_WRITE_FAILED',
        `could not write ${messages.length} message(s) to ${topic}`,
        {
          cause,
          hint: 'is the broker reachable? the batch is kept and retried',
        },
      );
    }
  }

  async close(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    await this.#producer.disconnect();
  }
}
