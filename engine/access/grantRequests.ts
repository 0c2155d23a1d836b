import { randomUUID } from 'node:crypto';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import type { Grant } from '../catalogue/projection.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { grantRequests } from '../connectors/clickhouse/tables/exchange.ts';
import { columnNames } from '../connectors/clickhouse/tables/table.ts';
import { CityOpsError } from '../errors.ts';
import { type GrantStore, grantProblems } from './grantStore.ts';
import { cityWorkingCalendar } from './workingDays.ts';

/** A provider answers a conditional request within this many working days. */
export const ANSWER_WORKING_DAYS = 5;

/**
 * `from` plus `days` working days on the city's calendar (config/holidays.yaml: Monday to Friday, less public
 * holidays, plus the make-up working days), at the same time of day.
 */
export function addWorkingDays(from: number, days: number, calendar = cityWorkingCalendar()): number {
  return calendar.addWorkingDays(from, days);
}

export interface GrantRequest {
  id: string;
  state: 'open' | 'granted' | 'refused';
  department: string;
  provider: string;
  resource: string;
  items: string[];
  purpose: string;
  requested_at: number;
  due_at: number;
  answered_at: number | null;
  answered_by: string;
  legal_basis: string;
  grant_id: string;
}

/** Whether a request is past its answer time with no answer, at `now`. */
export function isOverdue(request: GrantRequest, now: number): boolean {
  return request.state === 'open' && now > request.due_at;
}

/**
 * Requests for conditional classes and their answers, kept in ClickHouse (`city.grant_requests`,
 * append-only). A grant answers a request by recording the grant (GrantStore); a refusal states its legal
 * basis, since sharing is the rule and refusal the exception.
 */
export class GrantRequestStore {
  readonly #client: ClickHouseClient;
  readonly #table: string;

  constructor(client: ClickHouseClient, database: string) {
    this.#client = client;
    this.#table = `${sqlIdentifier(database)}.${grantRequests.name}`;
  }

  /** Records a request; checked against the catalogue like a grant. Returns it, with its due time. */
  async request(
    catalogue: Catalogue,
    ask: Pick<GrantRequest, 'department' | 'resource' | 'items' | 'purpose'>,
    recordedBy: string,
    now = Date.now(),
  ): Promise<GrantRequest> {
    const probe: Grant = {
      ...ask,
      id: 'request',
      approved_by: 'pending',
      valid_from: new Date(now).toISOString(),
      valid_until: new Date(now + 1000).toISOString(),
    };
    const problems = grantProblems(catalogue, probe);
    if (problems.length > 0)
      throw new CityOpsError('CLI_USAGE', `request refused:\n  ${problems.join('\n  ')}`, {
        hint: '`city-ops catalogue list` shows the classes and their items',
      });
    const provider = catalogue.resources.find((r) => r.id === ask.resource)!.provider;
    const requestedAt = Math.floor(now / 1000) * 1000;
    const request: GrantRequest = {
      ...ask,
      id: randomUUID(),
      state: 'open',
      provider,
      requested_at: requestedAt,
      due_at: addWorkingDays(requestedAt, ANSWER_WORKING_DAYS),
      answered_at: null,
      answered_by: '',
      legal_basis: '',
      grant_id: '',
    };
    await this.#insert(request, 'requested', recordedBy);
    return request;
  }

  /** Answers an open request with a grant of its items, recorded in `grants` under the request's id. */
  async grant(
    catalogue: Catalogue,
    grants: GrantStore,
    id: string,
    answer: { approved_by: string; valid_until: number; valid_from?: number },
    now = Date.now(),
  ): Promise<GrantRequest> {
    const request = await this.#open(id);
    const grant: Grant = {
      id: request.id,
      department: request.department,
      resource: request.resource,
      items: request.items,
      purpose: request.purpose,
      approved_by: answer.approved_by,
      valid_from: new Date(answer.valid_from ?? now).toISOString(),
      valid_until: new Date(answer.valid_until).toISOString(),
    };
    // A grant recorded by an earlier answer whose answer row was lost: the answer is written now.
    if ((await grants.get(grant.id)) === undefined) await grants.record(catalogue, grant, answer.approved_by);
    const answered = {
      ...request,
      state: 'granted' as const,
      answered_at: now,
      answered_by: answer.approved_by,
      grant_id: grant.id,
    };
    await this.#insert(answered, 'granted', answer.approved_by);
    return answered;
  }

  /** Refuses an open request; the legal basis is required. */
  async refuse(
    id: string,
    answer: { by: string; legal_basis: string },
    now = Date.now(),
  ): Promise<GrantRequest> {
    if (answer.legal_basis.trim() === '')
      throw new CityOpsError('CLI_USAGE', 'a refusal states its legal basis', {
        hint: 'give --legal-basis: the rule that keeps this class from the department',
      });
    const request = await this.#open(id);
    const refused = {
      ...request,
      state: 'refused' as const,
      answered_at: now,
      answered_by: answer.by,
      legal_basis: answer.legal_basis,
    };
    await this.#insert(refused, 'refused', answer.by);
    return refused;
  }

  /** Every request in its current state, oldest first. */
  async current(): Promise<GrantRequest[]> {
    return this.#select('');
  }

  async #open(id: string): Promise<GrantRequest> {
    const [request] = await this.#select(`WHERE id = ${sqlString(id)}`);
    if (request === undefined)
      throw new CityOpsError('CLI_USAGE', `there is no request ${id}`, {
        hint: '`city-ops access requests` lists them',
      });
    if (request.state !== 'open')
      throw new CityOpsError('CLI_USAGE', `request ${id} is answered already (${request.state})`);
    return request;
  }

  async #select(where: string): Promise<GrantRequest[]> {
    // The state comes from whether an answer row exists, not from row order: clocks of the machines that
    // recorded the rows may disagree.
    const answer = (column: string) =>
      `argMaxIf(${column}, recorded_at_ms, action != 'requested') AS ${column}`;
    const rows = await selectRows<Record<string, unknown>>(
      this.#client,
      `SELECT id,
        if(countIf(action = 'granted') > 0, 'granted', if(countIf(action = 'refused') > 0, 'refused', 'requested')) AS state,
        ${['department', 'provider', 'resource', 'items', 'purpose'].map((c) => `any(${c}) AS ${c}`).join(', ')},
        ${['answered_by', 'legal_basis', 'grant_id'].map(answer).join(', ')},
        min(toUnixTimestamp(requested_at)) AS requested_s, min(toUnixTimestamp(due_at)) AS due_s,
        argMaxIf(toUnixTimestamp(answered_at), recorded_at_ms, action != 'requested') AS answered_s
      FROM ${this.#table} ${where} GROUP BY id ORDER BY requested_s, id`,
    );
    return rows.map((row) => {
      const { requested_s, due_s, answered_s, state, ...rest } = row;
      return {
        ...(rest as Omit<GrantRequest, 'state' | 'requested_at' | 'due_at' | 'answered_at'>),
        state: state === 'requested' ? 'open' : (state as 'granted' | 'refused'),
        requested_at: Number(requested_s) * 1000,
        due_at: Number(due_s) * 1000,
        answered_at: answered_s === null || Number(answered_s) === 0 ? null : Number(answered_s) * 1000,
      };
    });
  }

  async #insert(request: GrantRequest, action: string, recordedBy: string): Promise<void> {
    const row: Record<string, unknown> = {
      ...request,
      action,
      requested_at: request.requested_at / 1000,
      due_at: request.due_at / 1000,
      answered_at: request.answered_at === null ? null : Math.floor(request.answered_at / 1000),
      recorded_by: recordedBy,
      recorded_at_ms: Date.now(),
    };
    const values = [Object.fromEntries(columnNames(grantRequests).map((c) => [c, row[c]]))];
    await this.#client.insert({ table: this.#table, format: 'JSONEachRow', values });
  }
}
