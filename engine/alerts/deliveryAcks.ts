import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { KafkaClient } from '../connectors/kafka/client.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { readTopicToEnd } from './alertKafka.ts';

/** How a delivery was settled. */
export interface DeliveryAck {
  readonly status: 'acknowledged' | 'dead_lettered';
  readonly attempts: number;
  /** Wall-clock time of settlement, epoch ms. */
  readonly at: number;
  readonly http_status: number;
  /** Process that settled it (tells runs apart in tests and post-mortems). */
  readonly pid: number;
}

const RETAIN_MS = 7 * 86_400_000;

/**
 * The dispatcher's memory of settled deliveries, kept in the compacted `city.alert-acks` topic (key
 * `<event id>|<endpoint id>`). `load()` reads it at start; `record()` resolves once the broker has the
 * record (acks=all), and only then is the delivery counted as settled and its outbox offset committable.
 * A dispatcher that restarts after a crash skips every delivery found here.
 *
 * @example
 * const acks = new DeliveryAcks(kafka, topics.acks, logger);
 * await acks.load();
 * if (!acks.has(eventId, endpointId)) enqueue(...);
 */
export class DeliveryAcks {
  private readonly settled = new Map<string, DeliveryAck>();
  private producer: KafkaJS.Producer | undefined;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  static key(eventId: string, endpointId: string): string {
    return `${eventId}|${endpointId}`;
  }

  async load(): Promise<number> {
    const horizon = Date.now() - RETAIN_MS;
    await readTopicToEnd(
      this.kafka,
      this.topic,
      (record) => {
        if (record.key === null) return;
        if (record.value === null) {
          this.settled.delete(record.key);
          return;
        }
        try {
          const ack = JSON.parse(record.value.toString()) as DeliveryAck;
          if (ack.at >= horizon) this.settled.set(record.key, ack);
        } catch {
          this.logger.warn(
            { topic: this.topic, key: record.key },
            'unreadable acknowledgement record skipped',
          );
        }
      },
      this.logger,
    );
    this.producer = this.kafka.producer({
      kafkaJS: { acks: -1, idempotent: true },
      'linger.ms': 2,
    } as KafkaJS.ProducerConstructorConfig);
    await this.producer.connect();
    return this.settled.size;
  }

  has(eventId: string, endpointId: string): boolean {
    return this.settled.has(DeliveryAcks.key(eventId, endpointId));
  }

  get(eventId: string, endpointId: string): DeliveryAck | undefined {
    return this.settled.get(DeliveryAcks.key(eventId, endpointId));
  }

  get size(): number {
    return this.settled.size;
  }

  /**
   * Persists a settlement; resolves when the broker acknowledged it. Settlements made within the same few
   * milliseconds go to the broker in one request.
   */
  record(eventId: string, endpointId: string, ack: DeliveryAck): Promise<void> {
    if (!this.producer)
      return Promise.reject(new CityOpsError('INVARIANT_BROKEN', 'DeliveryAcks.record before load()'));
    const key = DeliveryAcks.key(eventId, endpointId);
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ key, ack, resolve, reject });
      this.flushTimer ??= setTimeout(() => void this.flush(), 2);
    });
  }

  private batch: Array<{
    key: string;
    ack: DeliveryAck;
    resolve: () => void;
    reject: (error: unknown) => void;
  }> = [];
  private flushTimer: NodeJS.Timeout | undefined;

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    try {
      await this.producer!.send({
        topic: this.topic,
        messages: batch.map(({ key, ack }) => ({ key, value: JSON.stringify(ack) })),
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const { key, ack, resolve } of batch) {
      this.settled.set(key, ack);
      resolve();
    }
    if (this.settled.size > 500_000) this.prune();
  }

  private prune(): void {
    const horizon = Date.now() - RETAIN_MS;
    for (const [key, ack] of this.settled) if (ack.at < horizon) this.settled.delete(key);
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => {});
  }
}
