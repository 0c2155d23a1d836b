import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { KafkaClient } from '../connectors/kafka/client.ts';
import { AggregateMessage } from '../contract/aggregates.ts';
import type { Logger } from '../observability/logger.ts';
import { AlertEvaluator, type EvaluatorSnapshot } from './alertEvaluator.ts';
import { toAlertCloudEvent } from './alertEvent.ts';
import { readTopicToEnd } from './alertKafka.ts';
import type { AlertMetrics } from './alertMetrics.ts';
import type { AlertTopics } from './alertTopics.ts';
import type { AlertTransition } from './alertTransition.ts';
import type { LoadedAlertConfig } from './loadAlertConfig.ts';

/** Options of an `AlertEvaluatorService`. */
export interface AlertEvaluatorServiceOptions {
  readonly kafka: KafkaClient;
  readonly topics: AlertTopics;
  /** The engine's aggregates topic (`internalTopic('aggregates', prefix)`). */
  readonly aggregatesTopic: string;
  /** Consumer group, also the key of the snapshots; default `city-ops-alert-evaluator`. */
  readonly groupId: string;
  readonly config: LoadedAlertConfig;
  readonly logger: Logger;
  readonly metrics: AlertMetrics;
  /** Snapshot + offset commit interval, ms; default 5000. */
  readonly snapshotIntervalMs?: number;
  /** Window completion fallback (see DistrictWindowCompletion), ms of event time. */
  readonly stallMs?: number;
  /** How often partitions that reached the end of the topic are checked (ms); default 1000. */
  readonly idleCheckMs?: number;
}

interface StoredSnapshot {
  readonly at: number;
  readonly offsets: Record<string, string>;
  readonly state: EvaluatorSnapshot;
}

/**
 * Runs the rule evaluator on the aggregates topic and publishes each lifecycle transition to the outbox
 * (`city.alerts`) as a CloudEvent, keyed by alert id; the live map and the dispatcher read it there.
 *
 * Durability: every `snapshotIntervalMs` the evaluator's state is written (gzip) to the compacted
 * evaluator-state topic, and only then are the consumed offsets committed; a restart restores the latest
 * snapshot and goes on from the offsets it covers (messages before them, read again when the commit did not
 * happen, are skipped). Transitions produced after the last snapshot may be produced
 * again after a crash; their ids are deterministic, so the dispatcher delivers them once (acknowledgement
 * topic) and the map merges them.
 */
export class AlertEvaluatorService {
  private evaluator: AlertEvaluator | undefined;
  private consumer: KafkaJS.Consumer | undefined;
  private producer: KafkaJS.Producer | undefined;
  private readonly nextOffsets = new Map<number, string>();
  private lastSnapshotAt = Date.now();
  private chain: Promise<void> = Promise.resolve();
  private published = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private admin: KafkaJS.Admin | undefined;
  private restoredFrom: string | null = null;

  constructor(private readonly options: AlertEvaluatorServiceOptions) {}

  async start(): Promise<void> {
    const { kafka, topics, logger, groupId } = this.options;
    let stored: StoredSnapshot | undefined;
    await readTopicToEnd(kafka, topics.evaluatorState, (record) => {
      if (record.key !== groupId) return;
      stored = record.value === null ? undefined : (JSON.parse(record.value.toString()) as StoredSnapshot);
    });
    const config = this.options.config.config;
    const admin = kafka.admin();
    await admin.connect();
    const [metadata] = await admin
      .fetchTopicMetadata({ topics: [this.options.aggregatesTopic] })
      .finally(() => admin.disconnect().catch(() => {}));
    const inputPartitions = Math.max(1, metadata?.partitions.length ?? 1);
    const stall = {
      inputPartitions,
      ...(this.options.stallMs === undefined ? {} : { stallMs: this.options.stallMs }),
    };
    if (stored) {
      this.evaluator = AlertEvaluator.restore(config, stored.state, stall);
      // The snapshot, not the group's commit, says what the state holds: a crash between writing a snapshot
      // and committing its offsets leaves the commit behind, and those messages must not be applied twice.
      for (const [partition, offset] of Object.entries(stored.offsets))
        this.nextOffsets.set(Number(partition), offset);
      this.restoredFrom = new Date(stored.at).toISOString();
      logger.info({ snapshot_at: this.restoredFrom, offsets: stored.offsets }, 'evaluator state restored');
    } else {
      this.evaluator = new AlertEvaluator(config, stall);
    }
    this.producer = kafka.producer({
      kafkaJS: { acks: -1, idempotent: true },
      'linger.ms': 5,
      'compression.type': 'gzip',
      'message.max.bytes': 64 * 1024 * 1024,
    } as KafkaJS.ProducerConstructorConfig);
    await this.producer.connect();
    this.consumer = kafka.consumer({
      kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
      'js.consumer.max.batch.size': 2000,
    } as KafkaJS.ConsumerConstructorConfig);
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.options.aggregatesTopic] });
    await this.consumer.run({
      eachBatch: async ({ batch }: KafkaJS.EachBatchPayload) => {
        await this.serial(() => this.onBatch(batch));
      },
    });
    this.admin = kafka.admin();
    await this.admin.connect();
    this.idleTimer = setInterval(
      () => void this.serial(() => this.releaseIdle()),
      this.options.idleCheckMs ?? 1_000,
    );
    logger.info(
      { topic: this.options.aggregatesTopic, group: groupId },
      'alert evaluator consuming aggregates',
    );
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => {});
    return next;
  }

  private async onBatch(batch: KafkaJS.Batch): Promise<void> {
    const { metrics, logger } = this.options;
    const evaluator = this.evaluator!;
    const transitions: AlertTransition[] = [];
    const from = BigInt(this.nextOffsets.get(batch.partition) ?? '0');
    for (const message of batch.messages) {
      if (BigInt(message.offset) < from) continue; // already in the restored snapshot
      let parsed: ReturnType<typeof AggregateMessage.safeParse>;
      try {
        parsed = AggregateMessage.safeParse(JSON.parse(message.value?.toString() ?? ''));
      } catch {
        parsed = { success: false } as ReturnType<typeof AggregateMessage.safeParse>;
      }
      if (!parsed.success) {
        metrics.aggregatesInvalid.inc();
        logger.warn(
          { partition: batch.partition, offset: message.offset },
          'aggregate message breaks the contract; skipped',
        );
        continue;
      }
      metrics.aggregatesConsumed.inc({ kind: parsed.data.kind });
      transitions.push(...evaluator.process(parsed.data, batch.partition));
    }
    await this.publish(transitions);
    const last = batch.messages.at(-1);
    if (last && BigInt(last.offset) >= from)
      this.nextOffsets.set(batch.partition, String(BigInt(last.offset) + 1n));
    if (Date.now() - this.lastSnapshotAt >= (this.options.snapshotIntervalMs ?? 5_000))
      await this.checkpoint();
  }

  /**
   * Input partitions whose consumer has reached the end of the topic cannot bring older windows: they stop
   * holding complete windows back (see `AlertEvaluator.markIdle`). Wall-clock driven, so it lives here and
   * not in the pure evaluator.
   */
  private async releaseIdle(): Promise<void> {
    const evaluator = this.evaluator;
    if (!evaluator || !this.admin || evaluator.heldCount === 0) return;
    try {
      const ends = await this.admin.fetchTopicOffsets(this.options.aggregatesTopic);
      const committed = new Map<number, bigint>();
      if (ends.some((e) => !this.nextOffsets.has(e.partition))) {
        const [group] = await this.admin.fetchOffsets({
          groupId: this.options.groupId,
          topics: [this.options.aggregatesTopic],
        });
        for (const p of group?.partitions ?? [])
          if (BigInt(p.offset) >= 0n) committed.set(p.partition, BigInt(p.offset));
      }
      const transitions: AlertTransition[] = [];
      for (const end of ends) {
        const position = this.nextOffsets.has(end.partition)
          ? BigInt(this.nextOffsets.get(end.partition)!)
          : (committed.get(end.partition) ?? BigInt(end.low));
        this.options.logger.debug(
          { partition: end.partition, position: String(position), high: end.high, held: evaluator.heldCount },
          'idle check',
        );
        if (position >= BigInt(end.high)) transitions.push(...evaluator.markIdle(end.partition));
      }
      await this.publish(transitions);
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'checking idle aggregates partitions failed');
    }
  }

  private async publish(transitions: AlertTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    const messages = transitions.map((t) => {
      const event = toAlertCloudEvent(t);
      this.options.metrics.transitions.inc({ rule: t.rule, type: t.type });
      return {
        key: t.alert_id,
        value: JSON.stringify(event),
        headers: { 'content-type': 'application/cloudevents+json' },
      };
    });
    await this.producer!.send({ topic: this.options.topics.alerts, messages });
    this.published += messages.length;
  }

  /** Writes a snapshot, then commits the offsets it covers. */
  private async checkpoint(): Promise<void> {
    if (!this.evaluator || !this.consumer || this.nextOffsets.size === 0) return;
    const offsets = Object.fromEntries(this.nextOffsets);
    const stored: StoredSnapshot = { at: Date.now(), offsets, state: this.evaluator.snapshot() };
    await this.producer!.send({
      topic: this.options.topics.evaluatorState,
      messages: [{ key: this.options.groupId, value: JSON.stringify(stored) }],
    });
    await this.consumer.commitOffsets(
      [...this.nextOffsets].map(([partition, offset]) => ({
        topic: this.options.aggregatesTopic,
        partition,
        offset,
      })),
    );
    this.lastSnapshotAt = Date.now();
  }

  /** Applies a reloaded rules file; alerts of removed or changed rules are resolved and published. */
  reload(config: LoadedAlertConfig): Promise<void> {
    return this.serial(async () => {
      if (!this.evaluator) return;
      await this.publish(this.evaluator.setConfig(config.config));
    });
  }

  summary() {
    return {
      ...(this.evaluator?.stats ?? {}),
      event_time:
        this.evaluator && this.evaluator.eventTime > 0
          ? new Date(this.evaluator.eventTime).toISOString()
          : null,
      active_alerts: this.evaluator?.activeAlerts().length ?? 0,
      published: this.published,
      restored_from_snapshot_at: this.restoredFrom,
    };
  }

  async stop(): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    await this.serial(async () => {
      await this.checkpoint().catch((error) =>
        this.options.logger.warn(
          { error: String(error) },
          'final evaluator snapshot failed; the last one stands',
        ),
      );
    });
    await this.consumer?.disconnect().catch(() => {});
    await this.producer?.disconnect().catch(() => {});
    await this.admin?.disconnect().catch(() => {});
  }
}
