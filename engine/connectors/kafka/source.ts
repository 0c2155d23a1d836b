import KafkaJavascript from '@confluentinc/kafka-javascript';
import type { Environment } from '../../config/environment.ts';
import { kafkaBrokers } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';

const { KafkaConsumer, CODES } = KafkaJavascript;

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A consumed message, as the engine uses it. */
export interface SourceMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Kafka message timestamp, epoch ms (0 when absent). */
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: Buffer | null;
}

/** An offset to commit with its metadata (see `PartitionPipeline`'s `CommitMetadata`). */
export interface OffsetToCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata: string;
}

export interface KafkaSourceOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly clientId: string;
  /**
   * Called when partitions are assigned, with the metadata of their committed offsets (null when none).
   * Messages of these partitions are held back until the returned promise settles.
   */
  readonly onAssign: (partitions: Array<TopicPartition & { metadata: string | null }>) => Promise<void>;
  /** Called when partitions are taken away; the caller drops their state synchronously. */
  readonly onRevoke: (partitions: TopicPartition[]) => void;
  readonly logger: Logger;
}

/**
 * The engine's Kafka source: a consumer-group member on the low-level `KafkaConsumer` of
 * @confluentinc/kafka-javascript (librdkafka), chosen over its KafkaJS-style API for exact control of what
 * is committed (offsets with metadata, only after the sinks have written), of pausing (backpressure) and of
 * cooperative rebalances (only the partitions that move are revoked).
 *
 * Auto-commit is off: nothing is committed except through `commit()`.
 */
export class KafkaSource {
  readonly #consumer: InstanceType<typeof KafkaConsumer>;
  readonly #options: KafkaSourceOptions;
  readonly #restoring = new Map<string, SourceMessage[]>();
  readonly #ready: SourceMessage[] = [];
  #connected = false;

  constructor(env: Environment, options: KafkaSourceOptions) {
    this.#options = options;
    const self = this;
    this.#consumer = new KafkaConsumer(
      {
        'bootstrap.servers': kafkaBrokers(env).join(','),
        'group.id': options.groupId,
        'client.id': options.clientId,
        // Static membership: an instance restarted under the same id (after a crash, a deploy) takes its
        // partitions back at once instead of waiting for the session of its dead predecessor to expire.
        'group.instance.id': options.clientId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'partition.assignment.strategy': 'cooperative-sticky',
        'session.timeout.ms': 10_000,
        'heartbeat.interval.ms': 1_000,
        'max.poll.interval.ms': 300_000,
        'fetch.wait.max.ms': 50,
        'fetch.min.bytes': 1,
        'queued.max.messages.kbytes': 65_536,
        'socket.keepalive.enable': true,
        rebalance_cb(
          this: InstanceType<typeof KafkaConsumer>,
          err: { code: number },
          assignment: TopicPartition[],
        ) {
          self.#rebalance(err.code, assignment);
        },
      },
      { 'auto.offset.reset': 'earliest' },
    );
    this.#consumer.setDefaultConsumeTimeout(100);
    // Wait (up to the timeout) for the first message only, then take what is already fetched. The default
    // waits up to the timeout for *each* of the `max` messages, so at a trickle a poll of 50 000 messages
    // would hold the first ones for many seconds.
    (
      this.#consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(on: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
  }

  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve()));
    }).catch((cause: unknown) => {
      throw new CityOpsError(
        'SERVICE_UNAVAILABLE',
        `could not connect to Kafka as consumer of ${this.#options.topics.join(', ')}`,
        {
          cause,
          hint: 'check KAFKA_BROKERS and that the broker is up (city-ops stack status)',
        },
      );
    });
    this.#connected = true;
    this.#consumer.subscribe([...this.#options.topics]);
  }

  /**
   * Up to `max` messages, in offset order per partition, from partitions whose state is ready. Resolves
   * with an empty array after about 100 ms without messages.
   */
  async poll(max: number): Promise<SourceMessage[]> {
    if (this.#ready.length > 0) return this.#ready.splice(0, max);
    // Everything goes through #ready: messages held during a restore are appended there as one block when the
    // restore ends, so a partition's messages always leave in offset order.
    const raw = await new Promise<KafkaJavascript.Message[]>((resolve, reject) => {
      this.#consumer.consume(max, (error, messages) => (error ? reject(error) : resolve(messages)));
    });
    for (const m of raw) {
      const message: SourceMessage = {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        timestamp: m.timestamp ?? 0,
        key: m.key === undefined || m.key === null ? null : String(m.key),
        value: m.value ?? null,
      };
      const held = this.#restoring.get(keyOf(message));
      if (held) held.push(message);
      else this.#ready.push(message);
    }
    return this.#ready.splice(0, max);
  }

  /** Commits offsets (the next offset to read) with metadata; resolves once the broker has them. */
  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    const assigned = new Set(this.assignment().map(keyOf));
    const mine = offsets.filter((o) => assigned.has(keyOf(o)));
    if (mine.length === 0) return;
    // Asynchronous with a callback: a synchronous commit would block the event loop for a broker round trip.
    const consumer = this.#consumer as unknown as {
      commitCb(offsets: OffsetToCommit[], cb: (error: unknown) => void): void;
    };
    await new Promise<void>((resolve, reject) => {
      consumer.commitCb(
        mine.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata })),
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  assignment(): TopicPartition[] {
    return this.#connected
      ? this.#consumer.assignments().map((a) => ({ topic: a.topic, partition: a.partition }))
      : [];
  }

  /** Last known end offset of a partition (from fetch responses; -1 when unknown). */
  highWatermark(topic: string, partition: number): number {
    try {
      return this.#consumer.getWatermarkOffsets(topic, partition).highOffset;
    } catch {
      return -1;
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.#consumer.pause(partitions.map((p) => ({ ...p })));
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.#consumer.resume(partitions.map((p) => ({ ...p })));
  }

  async close(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }

  #rebalance(code: number, assignment: TopicPartition[]): void {
    const partitions = assignment.map((a) => ({ topic: a.topic, partition: a.partition }));
    if (code === CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      (this.#consumer as unknown as IncrementalConsumer).incrementalAssign(partitions);
      for (const p of partitions) this.#restoring.set(keyOf(p), []);
      this.#options.logger.info({ partitions: partitions.map(keyOf) }, 'partitions assigned');
      void this.#restore(partitions);
    } else if (code === CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      this.#options.logger.info({ partitions: partitions.map(keyOf) }, 'partitions revoked');
      for (const p of partitions) this.#restoring.delete(keyOf(p));
      const revoked = new Set(partitions.map(keyOf));
      for (let i = this.#ready.length - 1; i >= 0; i--)
        if (revoked.has(keyOf(this.#ready[i]!))) this.#ready.splice(i, 1);
      this.#options.onRevoke(partitions);
      (this.#consumer as unknown as IncrementalConsumer).incrementalUnassign(partitions);
    } else {
      this.#options.logger.error({ code }, 'unexpected rebalance event');
    }
  }

  async #restore(partitions: TopicPartition[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const committed = await new Promise<
          Array<{ topic: string; partition: number; metadata?: string | null }>
        >((resolve, reject) =>
          this.#consumer.committed(
            partitions.map((p) => ({ ...p })),
            10_000,
            (error, result) => (error ? reject(error) : resolve(result)),
          ),
        );
        await this.#options.onAssign(
          partitions.map((p) => ({
            ...p,
            metadata:
              committed.find((c) => c.topic === p.topic && c.partition === p.partition)?.metadata ?? null,
          })),
        );
        for (const p of partitions) {
          const held = this.#restoring.get(keyOf(p));
          if (held === undefined) continue; // revoked meanwhile
          this.#restoring.delete(keyOf(p));
          this.#ready.push(...held);
        }
        return;
      } catch (error) {
        this.#options.logger.warn({ err: error, attempt }, 'reading committed offsets failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
    }
  }
}

/** Cooperative rebalancing calls, present on KafkaConsumer but missing from its type declarations. */
interface IncrementalConsumer {
  incrementalAssign(partitions: TopicPartition[]): void;
  incrementalUnassign(partitions: TopicPartition[]): void;
}

export function keyOf(p: TopicPartition): string {
  return `${p.topic}:${p.partition}`;
}
