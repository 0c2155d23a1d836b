import KafkaJavascript from '@confluentinc/kafka-javascript';
import type { Environment } from '../../config/environment.ts';
import { kafkaBrokers } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { librdkafkaAuth } from './client.ts';

const { KafkaConsumer, CODES } = KafkaJavascript;

/**
 * Longest wait for the binding to queue a commit. Queueing does not involve the broker, so this bounds only
 * a binding that never calls back; the flush that asked fails (retryably) and is made again.
 */
const COMMIT_QUEUE_TIMEOUT_MS = 30_000;

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
  /** The key's bytes as received (the engine decodes a key only for a dead letter). */
  readonly key: Uint8Array | null;
  readonly value: Buffer | null;
  /**
   * The assignment of its partition it was handed on under (0: none). A message taken before a revocation
   * can reach the caller after the partition was assigned again; the caller drops it when the generation is
   * not its partition state's (`onAssign` tells the generation of each assignment).
   */
  generation: number;
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
  readonly onAssign: (
    partitions: Array<TopicPartition & { metadata: string | null; generation: number }>,
  ) => Promise<void>;
  /** Called when partitions are taken away; the caller drops their state synchronously. */
  readonly onRevoke: (partitions: TopicPartition[]) => void;
  /** Called when the group coordinator refused a commit of these partitions (see `commit`). */
  readonly onCommitFailed?: (partitions: TopicPartition[]) => void;
  /** librdkafka's `queued.max.messages.kbytes` (default 65 536). */
  readonly fetchQueueKbytes?: number;
  /**
   * Ask the client for each poll's messages packed into a few arrays and two buffers (default true; needs
   * the patched client of patches/, and falls back by itself without it). false: an object per message.
   */
  readonly packedConsume?: boolean;
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
  /**
   * Partitions assigned whose state is being restored, with the messages fetched for them meanwhile. Each
   * assignment has its own entry object: a restore acts only on the entries it created, so a restore that
   * finishes after its partition was revoked and assigned again (a second rebalance during a broker restart)
   * cannot hand the newer assignment's messages to a pipeline built from older metadata.
   */
  readonly #restoring = new Map<string, { held: HeldMessage[] }>();
  /**
   * The next offset each restored partition must hand on. A consume() call's batch reaches JavaScript after
   * the rebalance callbacks that ran meanwhile, so it can carry messages of the partition's previous
   * assignment, fetched from an older position (seen after a consumer was frozen past its session: offsets
   * 40-46 of the old assignment reached the pipeline restored at 0, which then got 0). So, per partition:
   * an offset below the next one was handed on already and is dropped; the next one is handed on; one
   * beyond it is a gap in the log (transaction markers, retention) when it comes from a poll started after
   * the partition's last reposition (its assignment or a seek), and otherwise may be stale: it is dropped and
   * the partition is sought back to the next offset, so nothing is lost.
   */
  readonly #next = new Map<string, number>();
  /** Counts repositions (assignments and seeks); a poll remembers the count when it starts. */
  #repositions = 0;
  /**
   * Each partition's last reposition: its count, and the offset sought to when it was a seek back (so the
   * same seek is not issued again by every stale message of a poll that began before it).
   */
  readonly #repositioned = new Map<string, { at: number; soughtTo: number | undefined }>();
  /** The reposition count of each partition's current assignment: the generation of its messages. */
  readonly #assignedAt = new Map<string, number>();
  readonly #ready: SourceMessage[] = [];
  #connected = false;
  /** When the assignment was last lost (a revocation librdkafka flags as lost), until the next assignment. */
  #lostAt: number | undefined;
  #polls = 0;
  /** Whether the client answers consume calls packed (known after the first poll). */
  packed: boolean | undefined;

  constructor(env: Environment, options: KafkaSourceOptions) {
    this.#options = options;
    const self = this;
    this.#consumer = new KafkaConsumer(
      {
        'bootstrap.servers': kafkaBrokers(env).join(','),
        ...librdkafkaAuth(env),
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
        'queued.max.messages.kbytes': options.fetchQueueKbytes ?? 65_536,
        'socket.keepalive.enable': true,
        rebalance_cb(
          this: InstanceType<typeof KafkaConsumer>,
          err: { code: number },
          assignment: TopicPartition[],
        ) {
          self.#rebalance(err.code, assignment);
        },
        offset_commit_cb(
          this: InstanceType<typeof KafkaConsumer>,
          err: { code?: number; message?: string } | undefined,
          offsets: CommittedOffset[],
        ) {
          self.#committed(err, offsets);
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
    const started = this.#repositions;
    const raw = await this.#consume(max);
    this.#polls += 1;
    if (this.packed === undefined) {
      this.packed = !Array.isArray(raw);
      if (!this.packed && (this.#options.packedConsume ?? true)) {
        this.#options.logger.warn(
          'the Kafka client is not patched (patches/README.md): one object per message, a slower consume; run `node bin/bootstrap.mjs`',
        );
      }
    }
    if (Array.isArray(raw)) {
      for (const m of raw) {
        const key = m.key ?? null;
        this.#take(
          {
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp ?? 0,
            key: typeof key === 'string' ? Buffer.from(key) : key,
            value: m.value ?? null,
            generation: 0,
          },
          started,
        );
      }
    } else {
      for (const message of unpackMessages(raw)) this.#take(message, started);
    }
    return this.#ready.splice(0, max);
  }

  /**
   * One consume call of the client, asking for the messages packed (patches/README.md). A client without
   * the patch ignores that and answers with an object per message, which works the same, only slower.
   */
  #consume(max: number): Promise<PackedMessages | KafkaJavascript.Message[]> {
    const consumer = this.#consumer as unknown as {
      _client: {
        consume(
          timeoutMs: number,
          max: number,
          timeoutOnlyForFirstMessage: boolean,
          cb: (error: { message: string; code: number } | null, messages: unknown) => void,
          packed: boolean,
        ): void;
      };
      _consumeTimeout: number;
      _consumeIsTimeoutOnlyForFirstMessage: boolean;
    };
    return new Promise((resolve, reject) => {
      consumer._client.consume(
        consumer._consumeTimeout,
        max,
        consumer._consumeIsTimeoutOnlyForFirstMessage,
        (error, messages) =>
          error
            ? reject(
                Object.assign(new Error(`consuming from Kafka failed: ${error.message}`), {
                  code: error.code,
                }),
              )
            : resolve(messages as PackedMessages | KafkaJavascript.Message[]),
        this.#options.packedConsume ?? true,
      );
    });
  }

  #take(message: SourceMessage, started: number): void {
    const key = keyOf(message);
    const restoring = this.#restoring.get(key);
    if (restoring) restoring.held.push({ message, started });
    else this.#handOn(key, message, started);
  }

  /**
   * Queues a commit of offsets (the next offset to read) with metadata for the partitions still assigned,
   * and returns those partitions. The binding's `commitCb` is librdkafka's commitAsync: it resolves once the
   * commit is queued, not stored. The coordinator's answer arrives later through `offset_commit_cb`, which
   * librdkafka serves only from the consumer's poll; waiting for it here would deadlock whenever the caller
   * stops polling until its flush is done (backpressure, shutdown). A refused commit is reported to
   * `onCommitFailed` instead, so the caller commits those partitions again.
   */
  async commit(offsets: readonly OffsetToCommit[]): Promise<TopicPartition[]> {
    const assigned = new Set(this.assignment().map(keyOf));
    const mine = offsets.filter((o) => assigned.has(keyOf(o)));
    if (mine.length === 0) return [];
    const consumer = this.#consumer as unknown as {
      commitCb(offsets: OffsetToCommit[], cb: (error: unknown) => void): void;
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new CityOpsError(
                'SINK_WRITE_FAILED',
                `queueing an offset commit took longer than ${COMMIT_QUEUE_TIMEOUT_MS / 1000} s`,
                { hint: 'the flush is kept and tried again; check that the Kafka brokers are reachable' },
              ),
            ),
          COMMIT_QUEUE_TIMEOUT_MS,
        );
        consumer.commitCb(
          mine.map((o) => ({
            topic: o.topic,
            partition: o.partition,
            offset: o.offset,
            metadata: o.metadata,
          })),
          (error) => (error ? reject(error) : resolve()),
        );
      });
    } finally {
      clearTimeout(timer);
    }
    return mine.map((o) => ({ topic: o.topic, partition: o.partition }));
  }

  /** consume() calls answered, for liveness reports. */
  get polls(): number {
    return this.#polls;
  }

  /** The coordinator's answer to a commit (librdkafka's offset_commit_cb, served by `poll`). */
  #committed(err: { code?: number; message?: string } | undefined, offsets: CommittedOffset[]): void {
    if (!err || err.code === CODES.ERRORS.ERR__NO_OFFSET) return;
    const partitions = offsets.map((o) => ({ topic: o.topic, partition: o.partition }));
    this.#options.logger.warn(
      { err, partitions: partitions.map(keyOf) },
      'the group coordinator refused an offset commit; it is made again at the next flush',
    );
    this.#options.onCommitFailed?.(partitions);
  }

  /**
   * Milliseconds since this consumer lost its assignment (the group session expired, e.g. while the broker
   * was away) without being assigned anything since; undefined when it has not.
   */
  lostFor(now = Date.now()): number | undefined {
    return this.#lostAt === undefined ? undefined : now - this.#lostAt;
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

  /**
   * The end offset of a partition as the broker has it now (a round trip), or -1 when it cannot say
   * within `timeoutMs`. `highWatermark` is only as fresh as the last fetch of that partition, and
   * librdkafka stops fetching while its local queue is full: a partition then looks caught up when it is
   * not.
   */
  queryHighWatermark(topic: string, partition: number, timeoutMs = 5_000): Promise<number> {
    if (!this.#connected) return Promise.resolve(-1);
    return new Promise((resolve) => {
      this.#consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (error, offsets) =>
        resolve(error ? -1 : offsets.highOffset),
      );
    });
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
      this.#lostAt = undefined;
      const entries = new Map(partitions.map((p) => [keyOf(p), { held: [] as HeldMessage[] }]));
      for (const key of entries.keys()) {
        this.#repositioned.set(key, { at: ++this.#repositions, soughtTo: undefined });
        this.#assignedAt.set(key, this.#repositions);
      }
      for (const [key, entry] of entries) this.#restoring.set(key, entry);
      this.#options.logger.info({ partitions: partitions.map(keyOf) }, 'partitions assigned');
      void this.#restore(partitions, entries);
    } else if (code === CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      const lost = (this.#consumer as unknown as IncrementalConsumer).assignmentLost();
      if (lost) this.#lostAt ??= Date.now();
      this.#options.logger.info({ partitions: partitions.map(keyOf), lost }, 'partitions revoked');
      for (const p of partitions) {
        this.#restoring.delete(keyOf(p));
        this.#next.delete(keyOf(p));
        this.#assignedAt.delete(keyOf(p));
        this.#repositioned.delete(keyOf(p));
      }
      const revoked = new Set(partitions.map(keyOf));
      for (let i = this.#ready.length - 1; i >= 0; i--)
        if (revoked.has(keyOf(this.#ready[i]!))) this.#ready.splice(i, 1);
      this.#options.onRevoke(partitions);
      (this.#consumer as unknown as IncrementalConsumer).incrementalUnassign(partitions);
    } else {
      this.#options.logger.error({ code }, 'unexpected rebalance event');
    }
  }

  /** Hands a message on to #ready in offset order (see #next), or drops it. */
  #handOn(key: string, message: SourceMessage, started: number): void {
    const next = this.#next.get(key);
    if (next === undefined) {
      this.#ready.push(message); // not assigned (any more): the engine drops it
      return;
    }
    if (message.offset < next) return;
    if (message.offset > next && started < (this.#repositioned.get(key)?.at ?? 0)) {
      this.#seekBack(message, next, started);
      return;
    }
    this.#next.set(key, message.offset + 1);
    message.generation = this.#assignedAt.get(key) ?? 0;
    this.#ready.push(message);
  }

  /** Fetches a partition again from `offset` (librdkafka drops what it had fetched for it). */
  #seekBack(p: TopicPartition, offset: number, started: number): void {
    const key = keyOf(p);
    const last = this.#repositioned.get(key);
    if (last && last.soughtTo === offset && last.at > started) return; // the same seek, issued after that poll began
    this.#repositioned.set(key, { at: ++this.#repositions, soughtTo: offset });
    this.#consumer.seek({ topic: p.topic, partition: p.partition, offset }, 0, (error) => {
      if (error) this.#options.logger.warn({ err: error, partition: key, offset }, 'seeking back failed');
    });
  }

  async #restore(
    partitions: TopicPartition[],
    entries: ReadonlyMap<string, { held: HeldMessage[] }>,
  ): Promise<void> {
    /** Still this assignment's (not revoked, not assigned again since). */
    const current = (p: TopicPartition) => this.#restoring.get(keyOf(p)) === entries.get(keyOf(p));
    for (let attempt = 1; ; attempt++) {
      const pending = partitions.filter(current);
      if (pending.length === 0) return;
      try {
        const committed = await new Promise<
          Array<{ topic: string; partition: number; offset?: number; metadata?: string | null }>
        >((resolve, reject) =>
          this.#consumer.committed(
            pending.map((p) => ({ ...p })),
            10_000,
            (error, result) => (error ? reject(error) : resolve(result)),
          ),
        );
        const mine = pending.filter(current);
        await this.#options.onAssign(
          mine.map((p) => ({
            ...p,
            generation: this.#assignedAt.get(keyOf(p)) ?? 0,
            metadata:
              committed.find((c) => c.topic === p.topic && c.partition === p.partition)?.metadata ?? null,
          })),
        );
        for (const p of mine) {
          if (!current(p)) continue; // revoked while onAssign ran: the revocation dropped its state
          const offset = committed.find((c) => c.topic === p.topic && c.partition === p.partition)?.offset;
          this.#next.set(keyOf(p), offset !== undefined && offset >= 0 ? offset : 0);
          this.#restoring.delete(keyOf(p));
          const key = keyOf(p);
          for (const { message, started } of entries.get(key)!.held) this.#handOn(key, message, started);
        }
        return;
      } catch (error) {
        this.#options.logger.warn({ err: error, attempt }, 'reading committed offsets failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
    }
  }
}

/** A partition's offset in an offset_commit_cb answer. */
interface CommittedOffset extends TopicPartition {
  readonly offset?: number;
}

/** A message fetched while its partition was being restored, with the reposition count when its poll started. */
interface HeldMessage {
  readonly message: SourceMessage;
  readonly started: number;
}

/** Cooperative rebalancing calls, present on KafkaConsumer but missing from its type declarations. */
interface IncrementalConsumer {
  incrementalAssign(partitions: TopicPartition[]): void;
  incrementalUnassign(partitions: TopicPartition[]): void;
  assignmentLost(): boolean;
}

/**
 * The messages of one consume call as the patched client hands them over (patches/README.md): `numbers`
 * holds `count` offsets and timestamps (Float64), then partitions, topic indexes, key lengths and value
 * lengths (Int32, -1 for null); `keys` and `values` are the keys and values concatenated.
 */
export interface PackedMessages {
  readonly count: number;
  readonly topics: readonly string[];
  readonly numbers: ArrayBuffer;
  readonly keys: Buffer;
  readonly values: Buffer;
}

/** The messages of a packed consume, in order; keys and values are views of its two buffers. */
export function unpackMessages(packed: PackedMessages): SourceMessage[] {
  const n = packed.count;
  const offsets = new Float64Array(packed.numbers, 0, n);
  const timestamps = new Float64Array(packed.numbers, 8 * n, n);
  const ints = new Int32Array(packed.numbers, 16 * n, 4 * n);
  const messages: SourceMessage[] = new Array(n);
  let keyAt = 0;
  let valueAt = 0;
  for (let i = 0; i < n; i++) {
    const keyLength = ints[2 * n + i]!;
    const valueLength = ints[3 * n + i]!;
    messages[i] = {
      topic: packed.topics[ints[n + i]!]!,
      partition: ints[i]!,
      offset: offsets[i]!,
      timestamp: timestamps[i]!,
      key: keyLength < 0 ? null : packed.keys.subarray(keyAt, keyAt + keyLength),
      value: valueLength < 0 ? null : packed.values.subarray(valueAt, valueAt + valueLength),
      generation: 0,
    };
    if (keyLength > 0) keyAt += keyLength;
    if (valueLength > 0) valueAt += valueLength;
  }
  return messages;
}

/** The keys `keyOf` made, kept: it runs for every consumed message, twice. */
const partitionKeys = new Map<string, string[]>();

export function keyOf(p: TopicPartition): string {
  let byPartition = partitionKeys.get(p.topic);
  if (byPartition === undefined) {
    byPartition = [];
    partitionKeys.set(p.topic, byPartition);
  }
  let key = byPartition[p.partition];
  if (key === undefined) {
    key = `${p.topic}:${p.partition}`;
    byPartition[p.partition] = key;
  }
  return key;
}
