import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Environment } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { createKafka } from './client.ts';

export interface SinkMessage {
  readonly key: string;
  readonly value: string;
}

export interface KafkaSinkOptions {
  /** librdkafka's linger.ms (default 5). */
  readonly lingerMs?: number;
  /**
   * Longest wait for the acknowledgement of one `send` (default 30 s). A send still unacknowledged then
   * fails, and the producer is replaced by a new one (see `send`).
   */
  readonly sendTimeoutMs?: number;
}

/** How long a replaced producer may take to disconnect before it is left behind. */
const DISCONNECT_WAIT_MS = 5_000;

/**
 * A Kafka producer for city-ops' own topics (dead letters, aggregates, alerts): idempotent, `acks=all`,
 * lz4, a short linger so live updates are not held back. `send` resolves once every message is
 * acknowledged by the broker, so callers may commit what depends on it.
 */
export class KafkaSink {
  readonly #create: () => KafkaJS.Producer;
  readonly #logger: Logger | undefined;
  readonly #sendTimeoutMs: number;
  #producer: KafkaJS.Producer;
  /** The current producer's connection, once asked for; undefined again after it failed. */
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(env: Environment, clientId: string, logger?: Logger, options: KafkaSinkOptions = {}) {
    this.#logger = logger;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.#create = () =>
      createKafka(env, clientId, logger).producer({
        'enable.idempotence': true,
        acks: -1,
        'compression.type': 'lz4',
        'linger.ms': options.lingerMs ?? 5,
        'batch.num.messages': 10_000,
        'queue.buffering.max.kbytes': 262_144,
      });
    this.#producer = this.#create();
  }

  async connect(): Promise<void> {
    this.#closed = false;
    this.#connecting ??= this.#producer.connect().catch((error: unknown) => {
      this.#connecting = undefined; // the next call tries again
      throw error;
    });
    await this.#connecting;
  }

  /**
   * Sends and waits for the broker's acknowledgement of every message, at most `sendTimeoutMs`.
   *
   * After a broker restart the idempotent producer was seen (tests/integration/engine/outages.test.ts) to
   * leave a send unacknowledged for good, every later send queued behind it: the engine's flush, which
   * waits for its dead letters, then failed every 30 s for minutes and committed nothing. So a send that
   * times out replaces the producer with a new one (a new producer id) before it fails; the old producer
   * is disconnected in the background, and may still deliver what it held (the same keys, so a reader that
   * keys by message key sees no difference; the callers retry anyway).
   */
  async send(topic: string, messages: readonly SinkMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = this.#producer;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#sendTimeoutMs);
    });
    try {
      if ((await Promise.race([this.connect(), timeout])) === 'timeout') {
        throw new CityOpsError(
          'SINK_WRITE_FAILED',
          `could not connect a Kafka producer for ${topic} within ${this.#sendTimeoutMs / 1000} s`,
          { hint: 'the caller retries; check that the Kafka brokers are reachable (city-ops stack status)' },
        );
      }
      const sent = producer.send({ topic, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
      sent.catch(() => {}); // a send given up on below must not become an unhandled rejection
      if ((await Promise.race([sent, timeout])) === 'timeout') {
        this.#replace(producer);
        throw new CityOpsError(
          'SINK_WRITE_FAILED',
          `${messages.length} message(s) to ${topic} not acknowledged within ${this.#sendTimeoutMs / 1000} s; the producer was replaced`,
          { hint: 'the caller retries; check that the Kafka brokers are reachable (city-ops stack status)' },
        );
      }
    } catch (cause) {
      if (cause instanceof CityOpsError) throw cause;
      throw new CityOpsError(
        'SINK_WRITE_FAILED',
        `could not write ${messages.length} message(s) to ${topic}`,
        {
          cause,
          hint: 'is the broker reachable? the batch is kept and retried',
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#connecting) return;
    this.#connecting = undefined;
    await this.#producer.disconnect().catch(() => {});
  }

  /** Swaps in a new producer, once per stuck one (concurrent sends on the same one time out together). */
  #replace(stuck: KafkaJS.Producer): void {
    if (this.#producer !== stuck || this.#closed) return;
    this.#logger?.warn(
      { sendTimeoutMs: this.#sendTimeoutMs },
      'a Kafka send was not acknowledged in time; replacing the producer',
    );
    this.#producer = this.#create();
    this.#connecting = undefined;
    void Promise.race([stuck.disconnect(), new Promise((r) => setTimeout(r, DISCONNECT_WAIT_MS))]).catch(
      () => {},
    );
  }
}
