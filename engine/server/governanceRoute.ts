import type uWS from 'uWebSockets.js';
import { GOVERNANCE_DAYS, type Governance, governanceFor, queryGovernance } from '../access/governance.ts';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { isCityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Principal } from './clientSession.ts';
import { send } from './httpGuard.ts';
import type { ServerMetrics } from './serverMetrics.ts';

/**
 * The governance figures of one map server, read from ClickHouse at most once per `maxAgeMs` per period
 * whatever the number of viewers (a page per department must not become a query per page), and today's
 * transactions kept on `/metrics` by a refresh every `refreshMs`.
 */
export class GovernanceFigures {
  readonly #cache = new Map<number, { at: number; answer: Promise<Governance> }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
    private readonly maxAgeMs = 30_000,
  ) {}

  /** The figures of the last `days` city days (one of GOVERNANCE_DAYS), at most `maxAgeMs` old. */
  get(days: number): Promise<Governance> {
    const now = Date.now();
    const known = this.#cache.get(days);
    if (known && now - known.at < this.maxAgeMs) return known.answer;
    const answer = queryGovernance(this.client, this.database, days, now);
    this.#cache.set(days, { at: now, answer });
    answer.then(
      (g) => this.#gauge(g),
      () => this.#cache.delete(days),
    );
    return answer;
  }

  start(refreshMs = 60_000): void {
    const refresh = () =>
      void this.get(1).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'governance figures could not be read'),
      );
    refresh();
    this.#timer = setInterval(refresh, refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #gauge(g: Governance): void {
    const today = g.transactions.at(-1);
    if (!today) return;
    this.metrics.exchangeToday.set({ outcome: 'accepted' }, today.accepted);
    this.metrics.exchangeToday.set({ outcome: 'rejected' }, today.rejected);
    this.metrics.exchangeToday.set({ outcome: 'delivered' }, today.delivered);
  }
}

/**
 * `GET /api/governance?days=1|7|30`: the figures as the principal may see them (`governanceFor`).
 * `target` is null when the server has no ClickHouse (history off).
 */
export function answerGovernance(
  res: uWS.HttpResponse,
  req: uWS.HttpRequest,
  target: {
    figures: GovernanceFigures;
    principal: Principal;
    catalogue: Pick<Catalogue, 'departments'> | undefined;
  } | null,
): void {
  if (target === null) {
    const body = { note: 'governance figures need ClickHouse, and this server runs without it' };
    send(res, '404 Not Found', 'application/json', JSON.stringify(body));
    return;
  }
  const days = Number(new URLSearchParams(req.getQuery() ?? '').get('days') ?? 7);
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  if (!(GOVERNANCE_DAYS as readonly number[]).includes(days)) {
    send(res, '400 Bad Request', 'text/plain', `days must be one of ${GOVERNANCE_DAYS.join(', ')}\n`);
    return;
  }
  target.figures
    .get(days)
    .then((all) => {
      if (aborted) return;
      const body = JSON.stringify(governanceFor(all, target.principal.department, target.catalogue));
      send(res, '200 OK', 'application/json', body, { 'Cache-Control': 'no-store' });
    })
    .catch((error: unknown) => {
      if (aborted) return;
      const user = isCityOpsError(error) && error.domain === 'user';
      send(
        res,
        user ? '400 Bad Request' : '500 Internal Server Error',
        'text/plain',
        user && error instanceof Error ? error.message : 'the governance figures are not available now',
      );
    });
}
