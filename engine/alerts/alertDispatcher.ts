import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { ExchangeLedger } from '../access/exchangeLedger.ts';
import { webhookBody, webhookLedgerEntry } from '../access/webhookExit.ts';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import type { KafkaClient } from '../connectors/kafka/client.ts';
import type { Logger } from '../observability/logger.ts';
import { type AlertCloudEvent, parseAlertCloudEvent } from './alertEvent.ts';
import type { AlertMetrics } from './alertMetrics.ts';
import type { AlertTopics } from './alertTopics.ts';
import { DeliveryAcks } from './deliveryAcks.ts';
import type { DeliveryLog, DeliveryStatus } from './deliveryLog.ts';
import {
  type DeliveryJob,
  type DeliveryOutcome,
  type EndpointStatus,
  EndpointWorker,
} from './endpointWorker.ts';
import type { LoadedAlertConfig, ResolvedEndpoint } from './loadAlertConfig.ts';
import { OutboxOffsets } from './outboxOffsets.ts';
import type { postWebhook } from './postWebhook.ts';
import { routeAlert } from './routeAlert.ts';

/** Options of an `AlertDispatcher`. */
export interface AlertDispatcherOptions {
  readonly kafka: KafkaClient;
  readonly topics: AlertTopics;
  /** Consumer group of the outbox; default `city-ops-alert-dispatcher`. */
  readonly groupId: string;
  /** The rules file in force (routes and endpoints); read at each event, so reloads apply. */
  readonly config: () => LoadedAlertConfig;
  readonly logger: Logger;
  readonly metrics: AlertMetrics;
  /** ClickHouse record of states (optional: without it, state is only on /status and Kafka). */
  readonly log?: DeliveryLog;
  /** Outbox records consumed but not settled before consumption pauses; default 20000. */
  readonly maxUnsettled?: number;
  /** How often committable offsets are committed, ms; default 200. */
  readonly commitIntervalMs?: number;
  /** How requests are sent (default `postWebhook`). */
  readonly post?: typeof postWebhook;
  /**
   * The catalogue in force: each department's payload is projected by it (engine/access/webhookExit.ts).
   * Without it, payloads go out as the outbox holds them.
   */
  readonly catalogue?: () => Catalogue;
  /** The exchange ledger: each settled delivery is a row of it (engine/access/webhookExit.ts). */
  readonly ledger?: Pick<ExchangeLedger, 'record'>;
}

/** A recent delivery as `/deliveries` shows it. */
export interface DeliveryView {
  event_id: string;
  alert_id: string;
  event_type: string;
  endpoint: string;
  status: DeliveryStatus;
  attempts: number;
  http_status: number;
  error: string;
  updated_at: string;
}

interface Pending {
  job: DeliveryJob;
  /** Outbox records (partition, offset) waiting for this delivery: usually one, more if the event was repeated. */
  records: Array<[number, string]>;
}

/**
 * Delivers the alert events of the outbox topic to the departments' webhooks, at least once, without
 * losing any across crashes.
 *
 * - Consumes the outbox (`city.alerts`) with auto-commit off. Each event is routed (`routeAlert`) to its
 *   endpoints; deliveries already in the acknowledgement topic are skipped (replays after a crash).
 * - Each endpoint has its own `EndpointWorker` (concurrency, timeout, backoff with jitter, Retry-After,
 *   retry budget), so one slow or dead endpoint never delays the others.
 * - A delivery settles when its acknowledgement (2xx) or its dead letter (Kafka topic + ClickHouse) is
 *   written to the broker; an outbox offset is committed only when every delivery of every record before it
 *   is settled (`OutboxOffsets`).
 *
 * What remains possible is duplicates, never losses: a request whose 2xx was lost (timeout, connection
 * reset) is sent again, and so is one whose 2xx arrived in the milliseconds before a crash, before its
 * acknowledgement reached the broker. Every copy carries the same `webhook-id` (the CloudEvent id).
 */
export class AlertDispatcher {
  private readonly workers = new Map<string, EndpointWorker>();
  private readonly pending = new Map<string, Pending>();
  private readonly offsets = new OutboxOffsets();
  private readonly recent = new Map<string, DeliveryView>();
  private consumer: KafkaJS.Consumer | undefined;
  private producer: KafkaJS.Producer | undefined;
  private acks: DeliveryAcks;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing = false;
  private paused = false;
  private stopping = false;
  private consumedCount = 0;
  private lastCommitAt: number | null = null;

  constructor(private readonly options: AlertDispatcherOptions) {
    this.acks = new DeliveryAcks(options.kafka, options.topics.acks, options.logger);
  }

  /** Loads the acknowledgements, then consumes the outbox until `stop()`. */
  async start(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    const loaded = await this.acks.load();
    logger.info({ acknowledgements: loaded, topic: topics.acks }, 'delivery acknowledgements loaded');
    this.producer = kafka.producer({
      kafkaJS: { acks: -1, idempotent: true },
      'linger.ms': 5,
    } as KafkaJS.ProducerConstructorConfig);
    await this.producer.connect();
    this.consumer = kafka.consumer({
      kafkaJS: { groupId: this.options.groupId, fromBeginning: true, autoCommit: false },
      'js.consumer.max.batch.size': 500,
    } as KafkaJS.ConsumerConstructorConfig);
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topics.alerts] });
    await this.consumer.run({
      eachMessage: async ({ partition, message }: KafkaJS.EachMessagePayload) => {
        this.onRecord(partition, message.offset, message.value);
      },
    });
    this.commitTimer = setInterval(() => void this.commit(), this.options.commitIntervalMs ?? 200);
    logger.info(
      { topic: topics.alerts, group: this.options.groupId },
      'alert dispatcher consuming the outbox',
    );
  }

  private onRecord(partition: number, offset: string, value: Buffer | null): void {
    const { logger, metrics } = this.options;
    this.consumedCount += 1;
    let event: AlertCloudEvent;
    const body = value?.toString() ?? '';
    try {
      event = parseAlertCloudEvent(body);
    } catch (error) {
      logger.error(
        { partition, offset, error: String(error).slice(0, 500) },
        'outbox record is not an alert CloudEvent; skipped',
      );
      this.offsets.add(partition, offset, 0);
      return;
    }
    const consumedAt = Date.now();
    this.options.log?.alert(event, body, consumedAt);
    const endpoints = routeAlert(this.options.config(), event.data);
    let waiting = 0;
    const catalogue = this.options.catalogue?.();
    for (const endpoint of endpoints) {
      const payload = catalogue ? webhookBody(catalogue, endpoint.department, event, body) : body;
      if (payload === undefined) {
        metrics.withheld.inc({ endpoint: endpoint.id });
        continue;
      }
      const key = DeliveryAcks.key(event.id, endpoint.id);
      const ack = this.acks.get(event.id, endpoint.id);
      if (ack) {
        metrics.skipped.inc();
        // Settled before a crash: write its final state again, in case the crash lost the buffered row
        // (the same row collapses in ClickHouse when it was written).
        this.options.log?.delivery({
          event_id: event.id,
          alert_id: event.data.alert_id,
          event_type: event.type,
          rule: event.data.rule,
          severity: event.data.severity,
          district: event.data.district ?? '',
          department: endpoint.department,
          endpoint: endpoint.id,
          attempt: ack.attempts,
          status: ack.status === 'acknowledged' ? 'acknowledged' : 'failed',
          http_status: ack.http_status,
          error: '',
          at_ms: ack.at,
          next_attempt_at_ms: null,
          latency_ms: 0,
        });
        continue;
      }
      waiting += 1;
      const existing = this.pending.get(key);
      if (existing) {
        existing.records.push([partition, offset]);
        continue;
      }
      const job: DeliveryJob = {
        key,
        eventId: event.id,
        alertId: event.data.alert_id,
        eventType: event.type,
        rule: event.data.rule,
        severity: event.data.severity,
        district: event.data.district ?? '',
        body: payload,
        consumedAt,
        attempts: 0,
        lastHttpStatus: 0,
        lastError: '',
      };
      this.pending.set(key, { job, records: [[partition, offset]] });
      this.worker(endpoint.id).enqueue(job);
      metrics.queueDepth.set({ endpoint: endpoint.id }, this.worker(endpoint.id).depth);
    }
    this.offsets.add(partition, offset, waiting);
    const max = this.options.maxUnsettled ?? 20_000;
    if (!this.paused && this.offsets.unsettled >= max) {
      this.paused = true;
      this.consumer?.pause([{ topic: this.options.topics.alerts }]);
      logger.warn(
        { unsettled: this.offsets.unsettled },
        'outbox consumption paused: too many unsettled alerts',
      );
    }
  }

  private worker(endpointId: string): EndpointWorker {
    let worker = this.workers.get(endpointId);
    if (!worker) {
      worker = new EndpointWorker(
        endpointId,
        () => this.options.config().endpoints.get(endpointId),
        {
          attemptStarted: (job, endpoint) => this.record(job, endpoint, 'sent', 0, '', null),
          attemptFailed: (job, endpoint, failure) => {
            this.options.metrics.attempts.inc({ endpoint: endpoint.id, outcome: failure.outcome });
            if (failure.nextAttemptAt !== null) {
              this.record(
                job,
                endpoint,
                'retrying',
                failure.httpStatus,
                failure.error,
                failure.nextAttemptAt,
              );
            }
          },
          settle: (job, endpoint, outcome) => this.settle(job, endpointId, endpoint, outcome),
        },
        this.options.logger.child({ endpoint: endpointId }),
        this.options.post,
      );
      this.workers.set(endpointId, worker);
    }
    return worker;
  }

  private record(
    job: DeliveryJob,
    endpoint: ResolvedEndpoint | undefined,
    status: DeliveryStatus,
    httpStatus: number,
    error: string,
    nextAttemptAt: number | null,
  ): void {
    const now = Date.now();
    const endpointId = endpoint?.id ?? job.key.slice(job.key.indexOf('|') + 1);
    this.options.log?.delivery({
      event_id: job.eventId,
      alert_id: job.alertId,
      event_type: job.eventType,
      rule: job.rule,
      severity: job.severity,
      district: job.district,
      department: endpoint?.department ?? '',
      endpoint: endpointId,
      attempt: job.attempts,
      status,
      http_status: httpStatus,
      error,
      at_ms: now,
      next_attempt_at_ms: nextAttemptAt,
      latency_ms: Math.min(4_294_967_295, now - job.consumedAt),
    });
    this.recent.delete(job.key);
    this.recent.set(job.key, {
      event_id: job.eventId,
      alert_id: job.alertId,
      event_type: job.eventType,
      endpoint: endpointId,
      status,
      attempts: job.attempts,
      http_status: httpStatus,
      error,
      updated_at: new Date(now).toISOString(),
    });
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
  }

  private async settle(
    job: DeliveryJob,
    endpointId: string,
    endpoint: ResolvedEndpoint | undefined,
    outcome: DeliveryOutcome,
  ): Promise<void> {
    const { metrics, logger } = this.options;
    const now = Date.now();
    if (outcome.status === 'acknowledged') {
      metrics.attempts.inc({ endpoint: endpointId, outcome: '2xx' });
      metrics.deliveryLatency.observe({ endpoint: endpointId }, (now - job.consumedAt) / 1000);
    } else {
      const deadLetter = {
        event_id: job.eventId,
        alert_id: job.alertId,
        event_type: job.eventType,
        rule: job.rule,
        department: endpoint?.department ?? '',
        endpoint: endpointId,
        attempts: job.attempts,
        last_http_status: outcome.httpStatus,
        last_error: outcome.error,
        first_attempt_at_ms: job.firstAttemptAt ?? now,
        at_ms: now,
        payload: job.body,
      };
      await this.durably('dead letter', () =>
        this.producer!.send({
          topic: this.options.topics.deadLetters,
          messages: [{ key: job.eventId, value: JSON.stringify(deadLetter) }],
        }),
      );
      this.options.log?.deadLetter(deadLetter);
      logger.warn(
        { endpoint: endpointId, event: job.eventId, attempts: job.attempts, error: outcome.error },
        'delivery dead-lettered',
      );
    }
    await this.durably('acknowledgement', () =>
      this.acks.record(job.eventId, endpointId, {
        status: outcome.status === 'acknowledged' ? 'acknowledged' : 'dead_lettered',
        attempts: job.attempts,
        at: now,
        http_status: outcome.httpStatus,
        pid: process.pid,
      }),
    );
    // After the acknowledgement is durable: a replay of this delivery is skipped, so it is recorded once
    // (a crash before the ledger writes it loses the row; docs/access.md).
    this.options.ledger?.record(
      webhookLedgerEntry(endpoint?.department ?? '', job.body, job.consumedAt, outcome, now),
    );
    this.record(
      job,
      endpoint,
      outcome.status,
      outcome.httpStatus,
      outcome.status === 'failed' ? outcome.error : '',
      null,
    );
    metrics.deliveries.inc({ endpoint: endpointId, status: outcome.status });
    const pending = this.pending.get(job.key);
    this.pending.delete(job.key);
    for (const [partition, offset] of pending?.records ?? []) this.offsets.settle(partition, offset);
    metrics.queueDepth.set(
      { endpoint: endpointId },
      Math.max(0, (this.workers.get(endpointId)?.depth ?? 1) - 1),
    );
  }

  /** Retries a Kafka write every 2 s until it succeeds or the dispatcher stops: an outcome must not be lost. */
  private async durably(what: string, write: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await write();
        return;
      } catch (error) {
        if (this.stopping) throw error;
        this.options.logger.error(
          { what, attempt, error: String(error) },
          'writing to Kafka failed; retrying in 2 s',
        );
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
  }

  private async commit(): Promise<void> {
    if (this.committing || !this.consumer) return;
    this.options.metrics.outboxUnsettled.set(this.offsets.unsettled);
    const offsets = this.offsets.committable();
    if (this.paused && this.offsets.unsettled < (this.options.maxUnsettled ?? 20_000) / 2) {
      this.paused = false;
      this.consumer.resume([{ topic: this.options.topics.alerts }]);
      this.options.logger.info({ unsettled: this.offsets.unsettled }, 'outbox consumption resumed');
    }
    if (offsets.length === 0) return;
    this.committing = true;
    try {
      // States of what is about to be committed reach ClickHouse first: after a crash, committed records
      // are not replayed, so their rows could not be written again. A ClickHouse outage does not hold the
      // commit back (the acknowledgement topic stays the source of truth).
      await this.options.log?.flush();
      await this.consumer.commitOffsets(offsets.map((o) => ({ topic: this.options.topics.alerts, ...o })));
      for (const o of offsets) this.offsets.markCommitted(o.partition, o.offset);
      this.lastCommitAt = Date.now();
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'committing outbox offsets failed; retrying');
    } finally {
      this.committing = false;
    }
  }

  /** Per-endpoint queues and counters. */
  endpointStatus(): EndpointStatus[] {
    return [...this.workers.values()]
      .map((w) => w.status())
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  /** The latest known state of recent deliveries (up to 10000), optionally of one alert or event. */
  deliveries(filter: { alert_id?: string; event_id?: string; status?: string } = {}): DeliveryView[] {
    return [...this.recent.values()].filter(
      (d) =>
        (filter.alert_id === undefined || d.alert_id === filter.alert_id) &&
        (filter.event_id === undefined || d.event_id === filter.event_id) &&
        (filter.status === undefined || d.status === filter.status),
    );
  }

  /** Summary for `/status` and `/health`. */
  summary() {
    return {
      consumed: this.consumedCount,
      unsettled_records: this.offsets.unsettled,
      pending_deliveries: this.pending.size,
      acknowledgements_known: this.acks.size,
      paused: this.paused,
      last_commit_at: this.lastCommitAt === null ? null : new Date(this.lastCommitAt).toISOString(),
    };
  }

  /**
   * Stops: no new records, waits up to `drainMs` (default 10 s) for deliveries in flight to settle, commits
   * what is settled, closes. What is not settled is delivered again by the next start.
   */
  async stop(drainMs = 10_000): Promise<void> {
    this.consumer?.pause([{ topic: this.options.topics.alerts }]);
    const deadline = Date.now() + drainMs;
    while (
      Date.now() < deadline &&
      [...this.workers.values()].some((w) => w.status().inFlight + w.status().settling > 0)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.stopping = true;
    for (const worker of this.workers.values()) worker.stop();
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.committing = false;
    await this.commit();
    await this.consumer?.disconnect().catch(() => {});
    await this.producer?.disconnect().catch(() => {});
    await this.acks.close();
    await this.options.log?.flush();
  }
}
