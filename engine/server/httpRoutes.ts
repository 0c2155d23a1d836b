import type uWS from 'uWebSockets.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { HistorySource } from '../access/exits.ts';
import { withholdHistory } from '../access/mapAccess.ts';
import { type MapLedger, OPERATOR_CONSUMER } from '../access/mapLedger.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { isCityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Basemap } from './basemap.ts';
import type { CaseConsole } from './caseConsole.ts';
import type { Principal } from './clientSession.ts';
import { answerGovernance } from './governanceRoute.ts';
import { HISTORY_MINUTES, type HistoryTables, queryHistory } from './historyQuery.ts';
import { decodePath, guarded, type Route, send } from './httpGuard.ts';
import type { ServerMetrics } from './serverMetrics.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.geojson': 'application/geo+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.pbf': 'application/x-protobuf',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

const BAD_ESCAPE = 'malformed percent-escape or control character in the path\n';

/** What the HTTP routes of the map server need from it. */
export interface HttpRouteContext {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly staticDir: string;
  readonly basemap: Basemap;
  readonly districtsJson: string;
  /** The /health answer; `ok` false answers 503. */
  health(): { ok: boolean; body: unknown };
  /** Called before the metrics are rendered (gauges computed on demand). */
  beforeMetrics(): void;
  /**
   * Authorises a history request: answers it (401) and returns undefined when refused; null when history
   * is turned off; else the client and tables to query.
   */
  history(
    res: uWS.HttpResponse,
    req: uWS.HttpRequest,
  ):
    | {
        client: ClickHouseClient;
        tables: HistoryTables;
        refused: Partial<Record<HistorySource, string>>;
        principal: Principal;
      }
    | null
    | undefined;
  /** Authorises a governance request like `history`; null when the server has no ClickHouse. */
  governance(res: uWS.HttpResponse, req: uWS.HttpRequest): Parameters<typeof answerGovernance>[2] | undefined;
  /** Authorises a case console request like `history`; null when the server has no Kafka. */
  cases(
    res: uWS.HttpResponse,
    req: uWS.HttpRequest,
  ): { console: CaseConsole; principal: Principal } | null | undefined;
  /** Told of each history answer, to record it in the exchange ledger. */
  readonly ledger?: Pick<MapLedger, 'history'>;
}

/**
 * The map server's HTTP routes: `/health`, `/metrics`, `/api/districts`, `/api/history`, `/api/governance`, `/api/cases`, the offline basemap
 * and the page's files. Every handler is guarded (`guarded`): an exception answers 500 and is counted, and
 * the server goes on serving; a path with a malformed escape answers 400.
 */
export function registerHttpRoutes(app: uWS.TemplatedApp, context: HttpRouteContext): void {
  const { logger, metrics } = context;
  const get = (pattern: string, handler: Route) =>
    app.get(
      pattern,
      guarded(pattern, handler, logger, (route) => metrics.httpErrors.inc({ route })),
    );

  get('/health', (res) => {
    const { ok, body } = context.health();
    send(res, ok ? '200 OK' : '503 Service Unavailable', 'application/json', JSON.stringify(body));
  });

  get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    context.beforeMetrics();
    metrics.registry
      .metrics()
      .then((text) => {
        if (!aborted) send(res, '200 OK', metrics.registry.contentType, text);
      })
      .catch((error: unknown) => {
        if (!aborted) send(res, '500 Internal Server Error', 'text/plain', String(error));
      });
  });

  get('/api/districts', (res) => {
    send(res, '200 OK', 'application/geo+json', context.districtsJson, { 'Cache-Control': 'max-age=3600' });
  });

  const basemapStyle = JSON.stringify(context.basemap.style);
  get('/basemap/style.json', (res) => {
    send(res, '200 OK', 'application/json', basemapStyle, { 'Cache-Control': 'max-age=3600' });
  });

  get('/basemap/*', (res, req) => {
    const name = decodePath(req.getUrl().slice('/basemap/'.length));
    if (name === undefined) return send(res, '400 Bad Request', 'text/plain', BAD_ESCAPE);
    const file = context.basemap.files.get(name);
    if (!file) return send(res, '404 Not Found', 'text/plain', 'not in the basemap package');
    send(res, '200 OK', CONTENT_TYPES[extname(name)] ?? 'application/octet-stream', file);
  });

  get('/api/history', (res, req) => history(res, req, context));
  const noConsole = JSON.stringify({ note: 'the case console needs Kafka, and this server runs without it' });
  /** The console that may answer, or undefined once the request is answered (no console, or waiting). */
  const caseConsole = (res: uWS.HttpResponse, req: uWS.HttpRequest) => {
    const target = context.cases(res, req);
    if (target === null) send(res, '404 Not Found', 'application/json', noConsole);
    const waiting = target?.console.waiting();
    if (target && waiting !== undefined)
      send(res, '503 Service Unavailable', 'application/json', JSON.stringify({ note: waiting }));
    return target && waiting === undefined ? target : undefined;
  };
  get('/api/cases', (res, req) => {
    const target = caseConsole(res, req);
    if (target)
      send(res, '200 OK', 'application/json', target.console.list(target.principal), {
        'Cache-Control': 'no-store',
      });
  });
  app.post(
    '/api/cases/actions',
    guarded(
      '/api/cases/actions',
      (res, req) => {
        const target = caseConsole(res, req);
        if (target) target.console.act(res, target.principal);
      },
      logger,
      (route) => metrics.httpErrors.inc({ route }),
    ),
  );
  get('/api/governance', (res, req) => {
    const target = context.governance(res, req);
    if (target !== undefined) answerGovernance(res, req, target);
  });
  get('/*', staticFiles(context.staticDir));
}

function history(res: uWS.HttpResponse, req: uWS.HttpRequest, context: HttpRouteContext): void {
  const target = context.history(res, req);
  if (target === undefined) return;
  const query = new URLSearchParams(req.getQuery() ?? '');
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  if (target === null) {
    const body = { note: 'history is turned off on this server', minutes: 0, districtMinute: [] };
    send(res, '200 OK', 'application/json', JSON.stringify(body));
    return;
  }
  const minutes = Number(query.get('minutes') ?? 15);
  queryHistory(target.client, target.tables, { minutes, district: query.get('district') })
    .then((answer) => {
      if (aborted) return;
      const delivered = withholdHistory(answer, target.refused);
      send(res, '200 OK', 'application/json', JSON.stringify(delivered));
      context.ledger?.history(target.principal, delivered);
      const consumer = target.principal.department ?? OPERATOR_CONSUMER;
      context.metrics.deliveries.inc({ exit: 'history', consumer });
    })
    .catch((error: unknown) => {
      if (aborted) return;
      const user = isCityOpsError(error) && error.domain === 'user';
      if (!user) {
        context.logger.warn({ err: error, minutes }, 'history query failed');
        context.ledger?.history(target.principal, undefined, 'HISTORY_UNAVAILABLE');
      }
      send(
        res,
        user ? '400 Bad Request' : '500 Internal Server Error',
        'text/plain',
        user && error instanceof Error
          ? error.message
          : `the history is not available now (minutes: ${HISTORY_MINUTES.join(', ')})`,
      );
    });
}

/** The built page, read once per file and kept; nothing outside `staticDir` is ever served. */
function staticFiles(staticDir: string): Route {
  const cache = new Map<string, Buffer>();
  return (res, req) => {
    let path = decodePath(req.getUrl());
    if (path === undefined) return send(res, '400 Bad Request', 'text/plain', BAD_ESCAPE);
    if (path === '/' || path === '') path = '/index.html';
    const file = normalize(join(staticDir, path));
    if (!file.startsWith(staticDir + sep))
      return send(res, '403 Forbidden', 'text/plain', 'outside the page');
    let body = cache.get(file);
    if (!body) {
      if (!existsSync(file) || !statSync(file).isFile()) {
        const hint = existsSync(staticDir) ? 'not found' : 'the page is not built: run `npm run build:viz`';
        return send(res, '404 Not Found', 'text/plain', hint);
      }
      body = readFileSync(file);
      cache.set(file, body);
    }
    send(res, '200 OK', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', body, {
      'Cache-Control': file.endsWith('index.html') ? 'no-cache' : 'max-age=300',
    });
  };
}
