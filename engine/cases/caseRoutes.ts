import type { IncomingMessage } from 'node:http';
import type { LoadedAlertConfig } from '../alerts/loadAlertConfig.ts';
import { WebhookVerifier } from '../alerts/webhookReceiver.ts';
import type { CaseState } from './caseModel.ts';
import { CaseActionRequest } from './caseRequests.ts';
import type { CaseService } from './caseService.ts';

const MAX_BODY = 16 * 1024;

/** A case as the API shows it. */
export function caseView(c: CaseState) {
  return {
    case_id: c.id,
    state: c.state,
    place: c.place,
    severity: c.severity,
    opened_at: new Date(c.opened_at).toISOString(),
    alerts: Object.fromEntries(c.alerts),
    level: c.level,
    departments: [...c.departments],
    acknowledge_by: c.ack_deadline === 0 ? null : new Date(c.ack_deadline).toISOString(),
    acknowledged_by: c.acknowledged_by || null,
    close_by: new Date(c.close_deadline).toISOString(),
  };
}

/**
 * The departments' side of cases, on the alert service's HTTP server:
 * - `POST /cases/actions`: an action (acknowledge, start, resolve; verify, close, reopen for supervisors),
 *   signed by the department with the secret of one of its webhook endpoints: Standard Webhooks, the
 *   scheme of the alerts in reverse. Answered after the action's event is written; a repeated request
 *   (same `webhook-id`) or a repeated action changes nothing and answers the case as it is.
 * - `GET /cases?state=`: the city's operating level and the cases, newest first (at most 500);
 *   `GET /cases/<id>`: one case.
 */
export class CaseRoutes {
  readonly #verifiers = new Map<string, { secrets: string; verifier: WebhookVerifier }>();

  constructor(
    private readonly service: CaseService,
    private readonly config: () => LoadedAlertConfig,
  ) {}

  /** Handles a /cases request; answers through `json`. */
  handle(request: IncomingMessage, url: URL, json: (status: number, body: unknown) => void): void {
    if (request.method === 'GET') {
      this.#get(url, json);
      return;
    }
    if (request.method !== 'POST' || url.pathname !== '/cases/actions') {
      json(405, { error: 'GET /cases, GET /cases/<id> or POST /cases/actions' });
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      // Past the limit the rest is read and dropped (not kept), so the client gets its 413 rather than a
      // reset connection.
      if (size <= MAX_BODY && size + chunk.length > MAX_BODY)
        json(413, { error: `a case action is at most ${MAX_BODY} bytes` });
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > MAX_BODY) return;
      void this.#post(Buffer.concat(chunks).toString('utf8'), request.headers, json).catch((error: unknown) =>
        json(503, { error: `the case service cannot take actions now: ${String(error).slice(0, 200)}` }),
      );
    });
  }

  #get(url: URL, json: (status: number, body: unknown) => void): void {
    const id = url.pathname.slice('/cases/'.length);
    if (url.pathname.startsWith('/cases/') && id) {
      const c = this.service.book.cases.get(id);
      if (c) json(200, caseView(c));
      else json(404, { error: `no case ${id}` });
      return;
    }
    const state = url.searchParams.get('state');
    const cases = [...this.service.book.cases.values()]
      .filter((c) => state === null || c.state === state)
      .sort((a, b) => b.opened_at - a.opened_at)
      .slice(0, 500)
      .map(caseView);
    const level = this.service.level();
    json(200, {
      level: { ...level, since: level.since === 0 ? null : new Date(level.since).toISOString() },
      cases,
    });
  }

  async #post(
    body: string,
    headers: IncomingMessage['headers'],
    json: (status: number, body: unknown) => void,
  ): Promise<void> {
    let parsed: CaseActionRequest;
    try {
      parsed = CaseActionRequest.parse(JSON.parse(body));
    } catch (error) {
      return json(400, { error: `not a case action: ${String(error).slice(0, 300)}` });
    }
    const verifier = this.#verifier(parsed.department);
    if (!verifier) return json(401, { error: `unknown department ${parsed.department}` });
    const checked = verifier.verify(body, headers as Record<string, string | string[] | undefined>);
    if (!checked.ok && checked.reason !== 'replayed')
      return json(401, { error: `signature refused (${checked.reason}): ${checked.detail}` });
    // The request's id makes the action's: the same request again, after a restart too, applies once.
    const webhookId = String(headers['webhook-id'] ?? '').slice(0, 120);
    const outcome = await this.service.act({ ...parsed, action_id: `${parsed.department}:${webhookId}` });
    if ('status' in outcome) return json(outcome.status, { error: outcome.message });
    return json(200, { ...caseView(outcome.case), changed: checked.ok && outcome.changed });
  }

  /** The verifier of a department's endpoints' secrets (rebuilt when the rules file changes them). */
  #verifier(department: string): WebhookVerifier | undefined {
    const secrets = [...this.config().endpoints.values()]
      .filter((e) => e.department === department)
      .flatMap((e) => e.secrets);
    if (secrets.length === 0) return undefined;
    const key = secrets.join(' ');
    const known = this.#verifiers.get(department);
    if (known?.secrets === key) return known.verifier;
    const verifier = new WebhookVerifier(secrets, 60 * 60_000);
    this.#verifiers.set(department, { secrets: key, verifier });
    return verifier;
  }
}
