import type { KafkaJS } from '@confluentinc/kafka-javascript';
import {
  ALERT_EVENT_SOURCE,
  ALERT_EVENT_TYPES,
  type AlertCloudEvent,
  parseAlertCloudEvent,
} from '../alerts/alertEvent.ts';
import { readTopicToEnd } from '../alerts/alertKafka.ts';
import type { AlertTopics } from '../alerts/alertTopics.ts';
import type { LoadedAlertConfig } from '../alerts/loadAlertConfig.ts';
import { routeAlert } from '../alerts/routeAlert.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import type { KafkaClient } from '../connectors/kafka/client.ts';
import type { Logger } from '../observability/logger.ts';
import { type CaseAction, CaseBook, type CaseRefusal } from './caseBook.ts';
import { CaseEvent, type CaseState, parseJson } from './caseModel.ts';
import { ConsoleAction } from './caseRequests.ts';
import { CaseRows } from './caseRows.ts';
import { LevelAnnouncer } from './levelAnnouncer.ts';
import { LEVEL_RULE_ID } from './operatingLevel.ts';

export interface CaseServiceOptions {
  readonly kafka: KafkaClient;
  readonly topics: AlertTopics;
  /** Consumer group of the outbox; default `city-ops-cases`. */
  readonly groupId: string;
  readonly config: () => LoadedAlertConfig;
  readonly logger: Logger;
  /** Where `city.case_events` is (optional: without it, the cases live in Kafka only). */
  readonly clickhouse?: { client: ClickHouseClient; database: string };
  /** How often deadlines are checked, ms (default 1000). */
  readonly tickMs?: number;
  /** How often the operating level in force is announced again, ms (default 5 min; the map reads 1 h). */
  readonly announceMs?: number;
  /** Called once when the service cannot go on (a write to Kafka failed): the process should exit. */
  readonly onFatal?: (error: unknown) => void;
}

/**
 * The case service (docs/cases.md): reads the alert outbox, opens and groups cases, dispatches them with
 * an acknowledgement deadline, escalates what is not acknowledged in time (an escalation is a CloudEvent
 * in the outbox, which the dispatcher delivers), and takes the departments' actions.
 *
 * Every decision is an event written to `city.case-events` (acks=all) before anything depends on it:
 * the outbox offset is committed after the events of its records are written, and an action is answered
 * after its event is. At start the service folds the whole topic back into its cases, so a decision made
 * before a crash is neither lost nor made twice. A failed write is fatal (fail-stop): the process exits
 * and its successor rebuilds from the topic.
 */
export class CaseService {
  readonly book = new CaseBook();
  #consumer: KafkaJS.Consumer | undefined;
  #producer: KafkaJS.Producer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #dead: string | undefined;
  readonly #rows: CaseRows;
  #flushTimer: NodeJS.Timeout | undefined;
  readonly counts = { alerts: 0, events: 0, escalations: 0, actions: 0, refused: 0 };
  readonly #levels: LevelAnnouncer;
  #announceTimer: NodeJS.Timeout | undefined;
  #ready = false;

  constructor(private readonly options: CaseServiceOptions) {
    this.#levels = new LevelAnnouncer(
      () => options.config().config.cases.levels,
      (events) => this.#toOutbox(events),
    );
    this.book.onRecord = (e) => this.#levels.observe(this.book, e.at_ms);
    this.#rows = new CaseRows(options.clickhouse, options.logger);
  }

  /** The city's operating level now, and since when (epoch ms; 0: never changed). */
  level() {
    return this.#levels.current();
  }

  async #toOutbox(events: AlertCloudEvent[]): Promise<void> {
    try {
      await this.#producer!.send({
        topic: this.options.topics.alerts,
        messages: events.map((e) => ({ key: e.data.alert_id, value: JSON.stringify(e) })),
      });
    } catch (error) {
      this.#die(error);
      throw error;
    }
  }

  async start(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    const rebuilt: CaseEvent[] = [];
    await readTopicToEnd(kafka, topics.caseEvents, ({ value }) => {
      const parsed = CaseEvent.safeParse(parseJson(String(value ?? '')));
      if (parsed.success) rebuilt.push(parsed.data);
      else logger.error({ error: parsed.error.message.slice(0, 300) }, 'a case event is malformed; skipped');
    });
    this.#levels.replay(rebuilt, this.book);
    // Written again: what a crash kept from ClickHouse collapses on its key.
    this.#rows.add(rebuilt);
    logger.info({ cases: this.book.cases.size, events: rebuilt.length }, 'cases rebuilt from their events');
    this.#producer = kafka.producer({
      kafkaJS: { acks: -1, idempotent: true },
    } as KafkaJS.ProducerConstructorConfig);
    await this.#producer.connect();
    const repaired = this.book.repair(this.options.config().config.cases, Date.now());
    if (repaired.length > 0)
      logger.warn({ events: repaired.length }, 'finishing decisions a crash cut short');
    await this.#persist(repaired);
    this.#consumer = kafka.consumer({
      kafkaJS: { groupId: this.options.groupId, fromBeginning: true, autoCommit: false },
      'js.consumer.max.batch.size': 500,
    } as KafkaJS.ConsumerConstructorConfig);
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [topics.alerts, topics.caseActions] });
    await this.#consumer.run({ eachBatch: (payload) => this.#serial(() => this.#onBatch(payload)) });
    // A failure has already stopped the service (#die); the timers only must not throw.
    this.#timer = setInterval(
      () => void this.#serial(() => this.#escalate()).catch(() => {}),
      this.options.tickMs ?? 1000,
    );
    this.#flushTimer = setInterval(() => void this.flush(), 500);
    await this.#serial(() => this.#levels.announce(true));
    this.#ready = true;
    this.#announceTimer = setInterval(
      () => void this.#serial(() => this.#levels.announce()).catch(() => {}),
      this.options.announceMs ?? 5 * 60_000,
    );
  }

  /** Whether the service still works; the reason when not. */
  health(): { ok: boolean; error?: string } {
    return this.#dead === undefined ? { ok: true } : { ok: false, error: this.#dead };
  }

  /** A department's action; answered once its event is written. */
  act(request: {
    department: string;
    action: CaseAction;
    case_id?: string;
    alert_id?: string;
    to?: string;
    note?: string;
    action_id?: string;
  }): Promise<{ case: CaseState; changed: boolean } | CaseRefusal> {
    if (!this.#ready)
      return Promise.resolve({
        status: 503,
        message: 'the case service is still reading its cases back; try again',
      });
    return this.#whenKnown(request.alert_id).then(() =>
      this.#serial(async () => {
        const outcome =
          this.#unknownTarget(request) ??
          this.book.act(request, this.options.config().config.cases, Date.now());
        if ('status' in outcome) return outcome;
        await this.#persist(outcome.events);
        this.counts.actions += outcome.events.length > 0 ? 1 : 0;
        return { case: outcome.case, changed: outcome.events.length > 0 };
      }),
    );
  }

  /**
   * The dispatcher and this service read the outbox each at its own pace, so a department may answer an
   * alert's webhook before its case is opened: an action naming an alert not seen yet waits for it a
   * little (up to `waitMs`) before it is refused as unknown.
   */
  async #whenKnown(alertId: string | undefined, waitMs = 5_000): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (alertId !== undefined && !this.book.caseOfAlert(alertId) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async #onBatch({ batch }: KafkaJS.EachBatchPayload): Promise<void> {
    const loaded = this.options.config();
    const events: CaseEvent[] = [];
    if (batch.topic === this.options.topics.caseActions) events.push(...this.#consoleActions(batch.messages));
    else
      for (const message of batch.messages) {
        let alert: AlertCloudEvent;
        try {
          alert = parseAlertCloudEvent(message.value?.toString() ?? '');
        } catch {
          continue; // the dispatcher logs and counts what is not an alert CloudEvent
        }
        if (alert.type === ALERT_EVENT_TYPES.escalated || alert.data.rule === LEVEL_RULE_ID) continue;
        this.counts.alerts += 1;
        const routed = [...new Set(routeAlert(loaded, alert.data).map((e) => e.department))];
        events.push(...this.book.onAlert(alert, routed, loaded.config.cases, Date.now()));
      }
    await this.#persist(events);
    const last = batch.messages.at(-1);
    if (last)
      await this.#consumer!.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
      ]);
  }

  /**
   * Actions taken on the map's console: only the map server may write the topic, and it wrote the
   * department its token stands for. One it cannot apply is logged and counted, and changes nothing.
   */
  #consoleActions(messages: KafkaJS.KafkaMessage[]): CaseEvent[] {
    const events: CaseEvent[] = [];
    for (const message of messages) {
      let action: ConsoleAction;
      try {
        action = ConsoleAction.parse(JSON.parse(message.value?.toString() ?? ''));
      } catch (error) {
        this.options.logger.error(
          { offset: message.offset, error: String(error).slice(0, 300) },
          'not a console action; skipped',
        );
        this.counts.refused += 1;
        continue;
      }
      const outcome =
        this.#unknownTarget(action) ?? this.book.act(action, this.options.config().config.cases, Date.now());
      if ('status' in outcome) {
        this.counts.refused += 1;
        const { note: _note, ...logged } = action;
        this.options.logger.warn({ action: logged, refusal: outcome }, 'a console action was refused');
        continue;
      }
      this.counts.actions += outcome.events.length > 0 ? 1 : 0;
      events.push(...outcome.events);
    }
    return events;
  }

  /** An assignment must go to a department of the rules file (one with an endpoint) or a supervisor. */
  #unknownTarget(request: { action: CaseAction; to?: string }): CaseRefusal | undefined {
    if (request.action !== 'assign' || request.to === undefined) return undefined;
    const loaded = this.options.config();
    const known = [...loaded.endpoints.values()].some((e) => e.department === request.to);
    if (known || loaded.config.cases.supervisors.includes(request.to)) return undefined;
    return { status: 409, message: `assign: ${request.to} is not a department of the rules file` };
  }

  async #escalate(): Promise<void> {
    const events = this.book.due(this.options.config().config.cases, Date.now());
    this.counts.escalations += events.filter((e) => e.departments.length > 0).length;
    await this.#persist(events);
  }

  /** The events to their topic, and each escalation to the outbox, both acknowledged by every replica. */
  async #persist(events: readonly CaseEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { topics } = this.options;
    const notices = events
      .filter((e) => e.type === 'escalated' && e.departments.length > 0)
      .flatMap((e) => this.#escalationNotice(e));
    try {
      // Notices first: a crash between the two sends leaves an escalation not recorded, which the next
      // process decides again and notices with the same event id (delivered once per endpoint, by the
      // dispatcher's acknowledgements); the other order could record an escalation no one was told of.
      if (notices.length > 0) await this.#producer!.send({ topic: topics.alerts, messages: notices });
      await this.#producer!.send({
        topic: topics.caseEvents,
        messages: events.map((e) => ({ key: e.case_id, value: JSON.stringify(e) })),
      });
    } catch (error) {
      this.#die(error);
      throw error;
    }
    this.counts.events += events.length;
    await this.#levels.flush();
    this.#rows.add(events);
  }

  #escalationNotice(e: CaseEvent): Array<{ key: string; value: string }> {
    const c = this.book.cases.get(e.case_id);
    if (!c?.alert) return [];
    const event: AlertCloudEvent = {
      specversion: '1.0',
      // By sequence, not level: a case assigned anew may climb the same level again, and must be told again.
      id: `${e.case_id}.escalated.${e.seq}`,
      source: ALERT_EVENT_SOURCE,
      type: ALERT_EVENT_TYPES.escalated,
      subject: `case/${e.case_id}`,
      time: new Date(e.at_ms).toISOString(),
      datacontenttype: 'application/json',
      data: { ...c.alert, department: e.departments[0]!, case_id: e.case_id, escalation_level: e.level },
    };
    return [{ key: c.alert.alert_id, value: JSON.stringify(event) }];
  }

  /** Writes the case events kept for `city.case_events`. */
  flush(): Promise<void> {
    return this.#rows.flush();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(() => {
      if (this.#dead !== undefined) throw new Error(`the case service stopped: ${this.#dead}`);
      return work();
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  #die(error: unknown): void {
    if (this.#dead !== undefined) return;
    this.#dead = String(error);
    this.options.logger.error({ err: error }, 'case events could not be written: the case service stops');
    clearInterval(this.#timer);
    this.options.onFatal?.(error);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#flushTimer);
    clearInterval(this.#announceTimer);
    await this.#queue;
    await this.#consumer?.disconnect().catch(() => {});
    await this.flush();
    await this.#producer?.disconnect().catch(() => {});
  }
}
