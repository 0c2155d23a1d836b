import type { Logger } from '../observability/logger.ts';
import type { ResolvedEndpoint } from './loadAlertConfig.ts';
import { postWebhook } from './postWebhook.ts';
import { parseRetryAfter, retryDelay } from './retryDelay.ts';
import { signWebhook } from './signWebhook.ts';

/** One alert event to deliver to one endpoint. */
export interface DeliveryJob {
  readonly key: string;
  readonly eventId: string;
  readonly alertId: string;
  readonly eventType: string;
  readonly rule: string;
  readonly severity: string;
  readonly district: string;
  /** The CloudEvent, structured JSON: the exact bytes that are signed and sent. */
  readonly body: string;
  /** Wall clock when the dispatcher took it from the outbox, epoch ms. */
  readonly consumedAt: number;
  attempts: number;
  firstAttemptAt?: number;
  lastHttpStatus: number;
  lastError: string;
}

/** How a delivery ended. */
export type DeliveryOutcome =
  | { readonly status: 'acknowledged'; readonly httpStatus: number }
  | { readonly status: 'failed'; readonly httpStatus: number; readonly error: string };

/** What the worker reports as it goes; `settle` resolves once the outcome is durable. */
export interface EndpointWorkerHooks {
  attemptStarted(job: DeliveryJob, endpoint: ResolvedEndpoint): void;
  attemptFailed(
    job: DeliveryJob,
    endpoint: ResolvedEndpoint,
    failure: { httpStatus: number; error: string; outcome: string; nextAttemptAt: number | null },
  ): void;
  settle(job: DeliveryJob, endpoint: ResolvedEndpoint | undefined, outcome: DeliveryOutcome): Promise<void>;
}

/** A snapshot of one endpoint's queue, for `/status`. */
export interface EndpointStatus {
  readonly endpoint: string;
  readonly department: string | null;
  readonly url: string | null;
  readonly ready: number;
  readonly inFlight: number;
  readonly retrying: number;
  readonly waitingForEarlierEvent: number;
  readonly settling: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly lastSuccessAt: string | null;
}

// 4xx answers that may succeed later; any other 4xx means the receiver refuses this request as it is.
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/**
 * The delivery queue of one webhook endpoint: at most `concurrency` requests in flight, each with its
 * timeout (AbortSignal.timeout, node:http keep-alive connections); failures are retried with exponential backoff and full jitter, honouring
 * `Retry-After` (on 429 and 503 and any other retried answer), until `max_attempts` or `max_age`, then the
 * delivery fails (dead letter). Events of one alert reach the endpoint in order (a `resolved` waits until the
 * `firing` is settled). Every endpoint has its own worker, so a slow or dead endpoint only delays itself.
 *
 * The endpoint's settings are looked up at each attempt, so a reloaded rules file (new URL, rotated
 * secrets, another timeout) applies to the next attempt; a removed endpoint fails what is left.
 */
export class EndpointWorker {
  private readonly ready: DeliveryJob[] = [];
  private readonly byAlert = new Map<string, DeliveryJob[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private retrying = 0;
  private settling = 0;
  private acknowledged = 0;
  private failed = 0;
  private attemptCount = 0;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private lastSuccessAt: number | null = null;
  private stopped = false;

  constructor(
    readonly endpointId: string,
    private readonly lookup: () => ResolvedEndpoint | undefined,
    private readonly hooks: EndpointWorkerHooks,
    private readonly logger: Logger,
    private readonly post: typeof postWebhook = postWebhook,
  ) {}

  /** Queues a delivery; it starts as soon as a slot is free and earlier events of its alert are settled. */
  enqueue(job: DeliveryJob): void {
    const queue = this.byAlert.get(job.alertId);
    if (queue) {
      queue.push(job);
      return;
    }
    this.byAlert.set(job.alertId, [job]);
    this.ready.push(job);
    this.pump();
  }

  /** Deliveries not settled yet (queued, in flight, waiting for a retry or for their outcome to persist). */
  get depth(): number {
    let count = 0;
    for (const queue of this.byAlert.values()) count += queue.length;
    return count;
  }

  status(): EndpointStatus {
    const endpoint = this.lookup();
    let waiting = 0;
    for (const queue of this.byAlert.values()) waiting += queue.length - 1;
    return {
      endpoint: this.endpointId,
      department: endpoint?.department ?? null,
      url: endpoint?.url ?? null,
      ready: this.ready.length,
      inFlight: this.inFlight,
      retrying: this.retrying,
      waitingForEarlierEvent: waiting,
      settling: this.settling,
      acknowledged: this.acknowledged,
      failed: this.failed,
      attempts: this.attemptCount,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
      lastSuccessAt: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
    };
  }

  /** Stops starting attempts and cancels scheduled retries (in-flight requests finish). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private pump(): void {
    while (!this.stopped && this.ready.length > 0) {
      const endpoint = this.lookup();
      if (endpoint && this.inFlight >= endpoint.concurrency) return;
      const job = this.ready.shift()!;
      if (!endpoint?.enabled) {
        void this.finish(job, undefined, {
          status: 'failed',
          httpStatus: 0,
          error: `endpoint ${this.endpointId} was removed or disabled in the rules file`,
        });
        continue;
      }
      const now = Date.now();
      if (job.firstAttemptAt !== undefined && now - job.firstAttemptAt >= endpoint.retry.max_age) {
        void this.finish(job, endpoint, {
          status: 'failed',
          httpStatus: job.lastHttpStatus,
          error: `retry budget exhausted: max_age ${endpoint.retry.max_age} ms passed; last error: ${job.lastError}`,
        });
        continue;
      }
      this.inFlight += 1;
      void this.attempt(job, endpoint).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async attempt(job: DeliveryJob, endpoint: ResolvedEndpoint): Promise<void> {
    job.attempts += 1;
    this.attemptCount += 1;
    const startedAt = Date.now();
    job.firstAttemptAt ??= startedAt;
    this.hooks.attemptStarted(job, endpoint);
    let httpStatus = 0;
    let error = '';
    let outcome: string;
    let retryAfter: number | undefined;
    try {
      const headers = signWebhook(endpoint.secrets, job.eventId, new Date(startedAt), job.body);
      const answer = await this.post(
        endpoint.url,
        {
          'content-type': 'application/cloudevents+json; charset=utf-8',
          'user-agent': 'city-ops-alerts/1',
          'idempotency-key': job.eventId,
          ...headers,
        },
        job.body,
        endpoint.timeout,
      );
      httpStatus = answer.status;
      retryAfter = parseRetryAfter(answer.retryAfter);
      if (httpStatus >= 200 && httpStatus < 300) {
        this.lastSuccessAt = Date.now();
        // The request slot is free now; making the outcome durable (an acknowledgement written to Kafka)
        // goes on beside the next requests, and only holds back later events of the same alert.
        void this.finish(job, endpoint, { status: 'acknowledged', httpStatus });
        return;
      }
      outcome = `${Math.floor(httpStatus / 100)}xx`;
      error = `HTTP ${httpStatus}`;
    } catch (cause) {
      const name = cause instanceof Error ? cause.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') {
        outcome = 'timeout';
        error = `no answer within ${endpoint.timeout} ms`;
      } else {
        outcome = 'network';
        const detail =
          cause instanceof Error
            ? ((cause.cause as Error | undefined)?.message ?? cause.message)
            : String(cause);
        error = `request failed: ${detail}`;
      }
    }
    job.lastHttpStatus = httpStatus;
    job.lastError = error;
    this.lastError = `${error} (${job.eventId})`;
    this.lastErrorAt = Date.now();
    const permanent = httpStatus >= 400 && httpStatus < 500 && !RETRYABLE_4XX.has(httpStatus);
    const policy = endpoint.retry;
    const now = Date.now();
    if (permanent || job.attempts >= policy.max_attempts || now - job.firstAttemptAt >= policy.max_age) {
      this.hooks.attemptFailed(job, endpoint, { httpStatus, error, outcome, nextAttemptAt: null });
      const why = permanent
        ? `the endpoint refused it (HTTP ${httpStatus}, not retried)`
        : `retry budget exhausted after ${job.attempts} attempts`;
      void this.finish(job, endpoint, {
        status: 'failed',
        httpStatus,
        error: `${why}; last error: ${error}`,
      });
      return;
    }
    const delay = retryDelay(job.attempts, policy, retryAfter);
    this.hooks.attemptFailed(job, endpoint, { httpStatus, error, outcome, nextAttemptAt: now + delay });
    this.retrying += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.retrying -= 1;
      this.ready.push(job);
      this.pump();
    }, delay);
    this.timers.add(timer);
  }

  private async finish(
    job: DeliveryJob,
    endpoint: ResolvedEndpoint | undefined,
    outcome: DeliveryOutcome,
  ): Promise<void> {
    this.settling += 1;
    try {
      await this.hooks.settle(job, endpoint, outcome);
    } catch (error) {
      // The outcome could not be made durable (Kafka down): count it as settled here; after a restart the
      // delivery is repeated (same webhook-id), which receivers drop.
      this.logger.error(
        { endpoint: this.endpointId, event: job.eventId, error: String(error) },
        'settling a delivery failed',
      );
    } finally {
      this.settling -= 1;
    }
    if (outcome.status === 'acknowledged') this.acknowledged += 1;
    else this.failed += 1;
    const queue = this.byAlert.get(job.alertId);
    if (queue) {
      queue.shift();
      const next = queue[0];
      if (next) this.ready.push(next);
      else this.byAlert.delete(job.alertId);
    }
    this.pump();
  }
}
