import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { toAlertCloudEvent } from '../alerts/alertEvent.ts';
import { alertId } from '../alerts/alertIdentity.ts';
import type { AlertTransition } from '../alerts/alertTransition.ts';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import type { KafkaClient } from '../connectors/kafka/client.ts';
import type { Logger } from '../observability/logger.ts';
import { type GrantRequest, GrantRequestStore, isOverdue } from './grantRequests.ts';
import { lastDeliveries, SilenceTracker } from './silenceAlerts.ts';

/** The alert rule of a provider's overdue answer to a request for a conditional class. */
export const OVERDUE_RULE = 'grant-answer-overdue';

/** Requests whose answer time passed longer ago than this are no longer alerted again after a restart. */
const LOOKBACK_MS = 30 * 86_400_000;

/**
 * The alert transitions of overdue answers at `now`: `firing` for a request still open past its due time,
 * addressed to its provider (who must answer), and `resolved` once a late answer came. Ids are
 * deterministic (rule, request, due time), so publishing a transition again delivers nothing new: the
 * dispatcher settles each event id once.
 */
export function overdueTransitions(requests: readonly GrantRequest[], now: number): AlertTransition[] {
  const out: AlertTransition[] = [];
  for (const request of requests) {
    if (now - request.due_at > LOOKBACK_MS) continue;
    const late =
      isOverdue(request, now) || (request.answered_at !== null && request.answered_at > request.due_at);
    if (!late) continue;
    const hours = ((request.answered_at ?? now) - request.due_at) / 3_600_000;
    const base = {
      alert_id: alertId(OVERDUE_RULE, request.id, request.due_at),
      rule: OVERDUE_RULE,
      severity: 'warning' as const,
      indicator: 'grant_request.hours_overdue',
      condition: 'threshold' as const,
      department: request.provider,
      title_en: `${request.provider}: the answer to ${request.department}'s request for ${request.resource} is overdue`,
      title_zh: `${request.provider}：对${request.department}申请${request.resource}的答复已逾期`,
      value: Math.round(hours * 10) / 10,
      threshold: 0,
      started_at: request.due_at,
    };
    out.push({ ...base, type: 'firing', at: request.due_at });
    if (request.answered_at !== null)
      out.push({ ...base, type: 'resolved', resolved_at: request.answered_at, at: request.answered_at });
  }
  return out;
}

/**
 * Asks for the transitions of one kind of alert every `intervalMs` and publishes each once per process
 * (the dispatcher's acknowledgements make a repeat after a restart harmless). A failed read or publish is
 * logged and tried again at the next check.
 */
export class AlertWatch {
  readonly #published = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly what: string,
    private readonly transitions: (now: number) => Promise<AlertTransition[]>,
    private readonly publish: (transitions: AlertTransition[]) => Promise<void>,
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One check; resolves with how many transitions it published (0 after a failure, which is logged). */
  async check(now = Date.now()): Promise<number> {
    try {
      const fresh = (await this.transitions(now)).filter(
        (t) => !this.#published.has(`${t.alert_id}.${t.type}`),
      );
      if (fresh.length === 0) return 0;
      await this.publish(fresh);
      for (const t of fresh) this.#published.add(`${t.alert_id}.${t.type}`);
      this.logger.info({ what: this.what, transitions: fresh.length }, 'alerts published to the outbox');
      return fresh.length;
    } catch (error) {
      this.logger.warn({ err: error, what: this.what }, 'cannot check for these alerts now');
      return 0;
    }
  }
}

/** How far back in event time the silence watch looks for a stream's last delivery. */
const SILENCE_LOOKBACK_MS = 6 * 3_600_000;

/**
 * The exchange's own alerts in `city-ops alerts`, published to the alert outbox, where the dispatcher
 * delivers each to the department it is addressed to (and to any route's):
 * - overdue answers to grant requests (`city.grant_requests`), to the provider that must answer;
 * - a real-time source silent for `silentMs`, to its provider.
 */
export async function startExchangeAlerts(
  kafka: KafkaClient,
  outbox: string,
  client: ClickHouseClient,
  database: string,
  catalogue: () => Catalogue,
  silentMs: number,
  logger: Logger,
  intervalMs?: number,
): Promise<{ watches: AlertWatch[]; stop(): Promise<void> }> {
  const producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
  await producer.connect();
  const publish = async (transitions: AlertTransition[]) => {
    const events = transitions.map((t) => toAlertCloudEvent(t));
    await producer.send({
      topic: outbox,
      messages: events.map((e) => ({ key: e.data.alert_id, value: JSON.stringify(e) })),
    });
  };
  const requests = new GrantRequestStore(client, database);
  const silences = new SilenceTracker(catalogue, silentMs);
  const watches = [
    new AlertWatch(
      'overdue answers',
      async (now) => overdueTransitions(await requests.current(), now),
      publish,
      logger,
      intervalMs,
    ),
    new AlertWatch(
      'silent providers',
      async (now) =>
        silences.transitions(await lastDeliveries(client, database, now, SILENCE_LOOKBACK_MS), now),
      publish,
      logger,
      intervalMs,
    ),
  ];
  for (const watch of watches) watch.start();
  return {
    watches,
    stop: async () => {
      for (const watch of watches) watch.stop();
      await producer.disconnect().catch(() => {});
    },
  };
}
