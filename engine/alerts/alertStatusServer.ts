import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { CaseRoutes } from '../cases/caseRoutes.ts';
import type { CaseService } from '../cases/caseService.ts';
import type { AlertDispatcher } from './alertDispatcher.ts';
import type { AlertEvaluatorService } from './alertEvaluatorService.ts';
import type { LoadedAlertConfig } from './loadAlertConfig.ts';

/** What the status server reports on. */
export interface AlertStatusSources {
  readonly registry: Registry;
  readonly config: () => LoadedAlertConfig;
  readonly dispatcher?: AlertDispatcher | undefined;
  readonly evaluator?: AlertEvaluatorService | undefined;
  readonly startedAt: number;
  /** Cases (docs/cases.md): their health, and their routes under /cases. */
  readonly cases?: { service: CaseService; routes: CaseRoutes } | undefined;
}

/**
 * The HTTP side of `city-ops alerts`, on 127.0.0.1 by default:
 *
 * - `GET /health`: `{"status":"ok", ...}` (200) while running;
 * - `GET /metrics`: Prometheus metrics;
 * - `GET /status`: rules file in force, evaluator counters, outbox progress and per-endpoint queues
 *   (ready, in flight, retrying, acknowledged, failed, last error);
 * - `GET /deliveries?alert_id=&event_id=&status=`: the latest state (sent, retrying, acknowledged, failed)
 *   of recent deliveries. The full history is in ClickHouse (`alert_delivery_state`);
 * - `/cases`: the cases and the departments' signed actions on them (engine/cases/caseRoutes.ts).
 *
 * Secrets are never shown (endpoints are listed by id and URL).
 */
export async function startAlertStatusServer(
  sources: AlertStatusSources,
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    // Whatever a request does to a handler (a path `new URL` refuses, a failing summary), it gets an answer
    // and the process, which delivers the city's alerts, goes on.
    try {
      route(request, response, json);
    } catch (error) {
      if (!response.headersSent) json(error instanceof TypeError ? 400 : 500, { error: String(error) });
      else response.destroy();
    }
  });
  const route = (
    request: IncomingMessage,
    response: ServerResponse,
    json: (status: number, body: unknown) => void,
  ) => {
    const url = new URL(request.url ?? '/', 'http://status');
    if (url.pathname === '/cases' || url.pathname.startsWith('/cases/')) {
      if (!sources.cases) return json(404, { error: 'this alert process runs no case service' });
      return sources.cases.routes.handle(request, url, json);
    }
    if (request.method !== 'GET') return json(405, { error: 'GET only' });
    switch (url.pathname) {
      case '/health': {
        const cases = sources.cases?.service.health();
        return json(cases && !cases.ok ? 503 : 200, {
          status: cases && !cases.ok ? 'failing' : 'ok',
          ...(cases ? { cases } : {}),
          uptime_s: Math.round((Date.now() - sources.startedAt) / 1000),
          evaluator: sources.evaluator !== undefined,
          dispatcher: sources.dispatcher !== undefined,
        });
      }
      case '/metrics':
        sources.registry
          .metrics()
          .then((text) => {
            response.writeHead(200, { 'content-type': sources.registry.contentType });
            response.end(text);
          })
          .catch((error) => json(500, { error: String(error) }));
        return;
      case '/status': {
        const loaded = sources.config();
        return json(200, {
          rules_file: {
            path: loaded.path,
            sha256: loaded.digest,
            rules: loaded.config.rules.map((r) => r.id),
          },
          evaluator: sources.evaluator?.summary() ?? null,
          outbox: sources.dispatcher?.summary() ?? null,
          endpoints: sources.dispatcher?.endpointStatus() ?? [],
          cases: sources.cases
            ? { ...sources.cases.service.counts, cases: sources.cases.service.book.cases.size }
            : null,
        });
      }
      case '/deliveries': {
        const filter: { alert_id?: string; event_id?: string; status?: string } = {};
        for (const name of ['alert_id', 'event_id', 'status'] as const) {
          const value = url.searchParams.get(name);
          if (value !== null) filter[name] = value;
        }
        return json(200, { deliveries: sources.dispatcher?.deliveries(filter) ?? [] });
      }
      default:
        return json(404, { error: 'not found', paths: ['/health', '/metrics', '/status', '/deliveries'] });
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
