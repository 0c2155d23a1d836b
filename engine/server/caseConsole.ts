import type uWS from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { z } from 'zod';
import { type MapLedger, OPERATOR_CONSUMER } from '../access/mapLedger.ts';
import { CASE_ACTIONS, CaseBook } from '../cases/caseBook.ts';
import { CaseEvent, parseJson } from '../cases/caseModel.ts';
import type { CaseActionRequest } from '../cases/caseRequests.ts';
import { caseView } from '../cases/caseRoutes.ts';
import type { Environment } from '../config/environment.ts';
import { createKafka, ensureTopics } from '../connectors/kafka/client.ts';
import { internalTopic } from '../contract/topics.ts';
import type { Logger } from '../observability/logger.ts';
import { maskFreeText } from '../privacy/mask.ts';
import type { Principal } from './clientSession.ts';
import { send } from './httpGuard.ts';

const MAX_BODY = 16 * 1024;
const RETRY_MS = 15_000;
/** What a department may do from the console; verifying, closing, reopening and assigning are the centre's. */
const DEPARTMENT_ACTIONS = new Set(['acknowledge', 'start', 'resolve']);

const ConsoleRequest = z.strictObject({
  action: z.enum(Object.keys(CASE_ACTIONS) as [keyof typeof CASE_ACTIONS, ...(keyof typeof CASE_ACTIONS)[]]),
  case_id: z.string().max(64),
  to: z.string().min(1).max(64).optional(),
  note: z.string().max(500).optional(),
});

/**
 * The map's case console (docs/cases.md): the cases, folded from `city.case-events` as the case service
 * writes them, and the actions of the staff, written to `city.case-actions` for the case service to
 * apply. The operator's token acts as the operations centre; a department's token as that department,
 * on the cases dispatched to it, and only to acknowledge, start and resolve.
 */
export class CaseConsole {
  readonly book = new CaseBook();
  #consumer: KafkaJS.Consumer | undefined;
  #producer: KafkaJS.Producer | undefined;
  #failed: string | undefined;
  #waiting: string | undefined = 'connecting to Kafka';
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly topics: { events: string; actions: string },
    private readonly logger: Logger,
    private readonly ledger?: Pick<MapLedger, 'cases'>,
  ) {}

  static async start(
    env: Environment,
    prefix: string,
    logger: Logger,
    ledger?: Pick<MapLedger, 'cases'>,
  ): Promise<CaseConsole> {
    const topics = {
      events: internalTopic('caseEvents', prefix),
      actions: internalTopic('caseActions', prefix),
    };
    const cases = new CaseConsole(topics, logger, ledger);
    await cases.#connect(env);
    return cases;
  }

  /**
   * The map's own Kafka user may not create topics (`city-ops migrate` and the case service do). Until
   * the case topics exist the console waits, says why on `/api/cases`, and the live map goes on.
   */
  async #connect(env: Environment): Promise<void> {
    if (this.#stopped) return;
    try {
      await ensureTopics(env, Object.values(this.topics));
    } catch (error) {
      this.#waiting = `the case topics ${Object.values(this.topics).join(', ')} do not exist yet; run \`city-ops migrate\` or start \`city-ops alerts\``;
      this.logger.warn({ err: error, retry_s: RETRY_MS / 1000 }, `case console waiting: ${this.#waiting}`);
      this.#retry = setTimeout(() => void this.#connect(env), RETRY_MS);
      this.#retry.unref();
      return;
    }
    const kafka = createKafka(env, 'city-ops-map-cases', this.logger);
    this.#producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
    await this.#producer.connect();
    // Every map server folds every case: a group of its own, from the beginning, committing nothing.
    const groupId = `city-ops-map-cases-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#consumer = kafka.consumer({
      kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
    } as KafkaJS.ConsumerConstructorConfig);
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.topics.events] });
    this.#consumer
      .run({ eachBatch: async ({ batch }) => this.#read(batch.messages) })
      .catch((error: unknown) => {
        this.#failed = String(error);
        this.logger.error({ err: error }, 'case events consumer stopped');
      });
    this.#waiting = undefined;
  }

  /** Why the console cannot take cases yet, or undefined once it can. */
  waiting(): string | undefined {
    return this.#waiting;
  }

  #read(messages: KafkaJS.KafkaMessage[]): void {
    for (const message of messages) {
      const parsed = CaseEvent.safeParse(parseJson(message.value?.toString() ?? ''));
      if (!parsed.success) continue;
      const known = this.book.cases.get(parsed.data.case_id);
      // Read again after a rebalance: an event the fold has is not applied twice.
      if (known && parsed.data.seq <= known.seq) continue;
      this.book.record([parsed.data]);
    }
  }

  health(): { ok: boolean; error?: string } {
    return this.#failed === undefined ? { ok: true } : { ok: false, error: this.#failed };
  }

  /** `GET /api/cases`: the operator sees every case, a department those dispatched to it (JSON). */
  list(principal: Principal): string {
    const department = principal.department;
    const cases = [...this.book.cases.values()]
      .filter((c) => department === undefined || c.departments.has(department))
      .sort((a, b) => b.opened_at - a.opened_at)
      .slice(0, 200)
      .map(caseView);
    // The departments the centre may assign a case to: those the cases have gone to so far.
    const departments = [
      ...new Set([...this.book.cases.values()].flatMap((c) => [...c.routed, ...c.departments])),
    ].sort();
    const body = JSON.stringify({ as: department ?? OPERATOR_CONSUMER, departments, cases });
    this.ledger?.cases(principal, Buffer.byteLength(body));
    return body;
  }

  /** `POST /api/cases/actions`: checks what it can, then hands the action to the case service (202). */
  act(res: uWS.HttpResponse, principal: Principal): void {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size <= MAX_BODY) chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      if (size > MAX_BODY)
        return send(res, '413 Payload Too Large', 'text/plain', `at most ${MAX_BODY} bytes\n`);
      const text = Buffer.concat(chunks).toString('utf8');
      void this.#act(text, principal).then(({ status, body }) => {
        // Every action taken or refused is a row of the exchange ledger, refused ones with their status.
        const fault = status.startsWith('202') ? undefined : `CASE_ACTION_${status.slice(0, 3)}`;
        this.ledger?.cases(principal, Buffer.byteLength(text), fault === undefined ? {} : { fault });
        if (!aborted) send(res, status, 'application/json', JSON.stringify(body));
      });
    });
  }

  async #act(text: string, principal: Principal): Promise<{ status: string; body: unknown }> {
    let request: z.infer<typeof ConsoleRequest>;
    try {
      request = ConsoleRequest.parse(JSON.parse(text));
    } catch (error) {
      return {
        status: '400 Bad Request',
        body: { error: `not a case action: ${String(error).slice(0, 300)}` },
      };
    }
    const c = this.book.cases.get(request.case_id);
    if (!c) return { status: '404 Not Found', body: { error: `no case ${request.case_id}` } };
    const department = principal.department ?? OPERATOR_CONSUMER;
    if (principal.department !== undefined) {
      if (!DEPARTMENT_ACTIONS.has(request.action))
        return { status: '403 Forbidden', body: { error: `${request.action} is for the operations centre` } };
      if (!c.departments.has(department))
        return {
          status: '403 Forbidden',
          body: { error: `case ${c.id} is not dispatched to ${department}` },
        };
    }
    const action: CaseActionRequest & { principal: string; action_id: string } = {
      ...request,
      // Masked before it leaves: the actions topic is kept a week, and read by the case service alone.
      ...(request.note !== undefined ? { note: maskFreeText(request.note).slice(0, 500) } : {}),
      department,
      principal: principal.subject,
      action_id: randomUUID(),
    };
    try {
      await this.#producer!.send({
        topic: this.topics.actions,
        messages: [{ key: c.id, value: JSON.stringify(action) }],
      });
    } catch (error) {
      this.logger.error({ err: error }, 'a case action could not be written');
      return { status: '503 Service Unavailable', body: { error: 'the case service cannot be reached now' } };
    }
    return { status: '202 Accepted', body: { action_id: action.action_id, case_id: c.id } };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#consumer?.disconnect().catch(() => {});
    await this.#producer?.disconnect().catch(() => {});
  }
}
