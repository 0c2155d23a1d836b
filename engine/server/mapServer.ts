import uWS from 'uWebSockets.js';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createAuthorize, historyRefusals, type MapAccess } from '../access/mapAccess.ts';
import { type MapLedger, OPERATOR_CONSUMER } from '../access/mapLedger.ts';
import { type Environment, PROJECT_ROOT } from '../config/environment.ts';
import { type ClickHouseClient, createClickHouse } from '../connectors/clickhouse/client.ts';
import type { AggregateMessage } from '../contract/aggregates.ts';
import { CityOpsError } from '../errors.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { type AggregatesReader, startAggregatesReader } from './aggregatesReader.ts';
import type { AlertEntity } from './alertEvent.ts';
import { loadBasemap } from './basemap.ts';
import { CaseConsole } from './caseConsole.ts';
import type { ClientSession, Principal } from './clientSession.ts';
import { loadDistrictBoundaries } from './districtBoundaries.ts';
import { FanoutHub } from './fanoutHub.ts';
import type { FanoutOptions } from './fanoutOptions.ts';
import { GovernanceFigures } from './governanceRoute.ts';
import { DEFAULT_HISTORY_TABLES, type HistoryTables } from './historyQuery.ts';
import { printable, send } from './httpGuard.ts';
import { registerHttpRoutes } from './httpRoutes.ts';
import { LiveState, type LiveStateOptions } from './liveState.ts';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from './protocol.ts';
import { ServerMetrics } from './serverMetrics.ts';

/** What an access decision sees about a WebSocket upgrade or an API request. */
export interface AccessRequest {
  /** The token from `?token=`, the `city-ops.token.<token>` subprotocol or `Authorization: Bearer`. */
  token: string | undefined;
  origin: string | undefined;
  remoteAddress: string;
  path: string;
}

/** Options of `startMapServer`; only `env` and `token` are required. */
export interface MapServerOptions {
  env: Environment;
  /** Access token clients must present. */
  token: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /**
   * Origins a browser may connect from (exact `scheme://host:port`). Default: this server's own
   * origins. A request without an Origin header (not a browser) needs only the token.
   */
  allowedOrigins?: readonly string[];
  /**
   * The access hook: returns who the client is and which topics it may see, or undefined to refuse.
   * Default: `token` is the operator's and sees everything; with `access`, each department's token sees
   * what the catalogue and its grants let out.
   */
  authorize?: (request: AccessRequest) => Principal | undefined;
  /** The departments' tokens and the policy that judges them (engine/access/mapAccess.ts). */
  access?: MapAccess;
  /** The exchange ledger's view of this server's deliveries (engine/access/mapLedger.ts). */
  ledger?: MapLedger;
  /** Read `city.aggregates` and `city.alerts` from Kafka (default true). False: feed it with `apply`. */
  kafka?: boolean;
  topicPrefix?: string;
  /** How far back to start reading the aggregates (ms, default 60 min). */
  historyMs?: number;
  /** Records waiting and nothing read for this long makes /health fail (ms, default 30 s). */
  readerStallMs?: number;
  /** ClickHouse history for the time-window selector; false turns it off (default: analyst user, `city`). */
  history?: false | { tables?: Partial<HistoryTables>; client?: ClickHouseClient };
  /** The built page (default viz/dist). */
  staticDir?: string;
  fanout?: Partial<FanoutOptions>;
  state?: Partial<LiveStateOptions>;
  logger?: Logger;
}

/** A running map server. */
export interface MapServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  readonly token: string;
  readonly state: LiveState;
  readonly hub: FanoutHub;
  readonly metrics: ServerMetrics;
  /** Feeds one aggregate in-process (the quick start, or tests without Kafka). */
  apply(message: AggregateMessage, timestamp?: number): void;
  /** Feeds one alert in-process. */
  applyAlert(alert: AlertEntity, timestamp?: number): void;
  /** Stops reading, closes every client (1001) and the listening socket. */
  close(): Promise<void>;
}

/** Shortest access token accepted: 16 characters (a generated one has 24, 144 random bits). */
export const MIN_TOKEN_LENGTH = 16;

/** A random access token (URL-safe), for `city-ops serve` when none is configured. */
export function generateToken(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Starts the serving tier in this process: uWebSockets.js HTTP + WebSocket server for the live map.
 *
 * - `GET /` and the page's assets (viz/dist), `GET /basemap/style.json` (offline basemap),
 *   `GET /api/districts` (WGS84 district boundaries), `GET /api/history?minutes=5|15|60[&district=]`
 *   (ClickHouse history, token required), `GET /api/governance?days=1|7|30` (the exchange's figures, token
 *   required), `GET /health`, `GET /metrics` (Prometheus).
 * - `WS /ws?token=...` (or subprotocol `city-ops.token.<token>`): the protocol of docs/protocol.md.
 *
 * @example
 * const server = await startMapServer({ env: loadEnvironment(), token: 'a-secret-of-16-chars', port: 0 });
 * console.log(`${server.url}/#token=secret`);
 * await server.close();
 */
export async function startMapServer(options: MapServerOptions): Promise<MapServer> {
  if (options.token.length < MIN_TOKEN_LENGTH)
    throw new CityOpsError(
      'CONFIG_INVALID',
      `the map access token must have at least ${MIN_TOKEN_LENGTH} characters`,
      {
        hint: 'set CITY_OPS_MAP_TOKEN or --token to a longer secret, or leave both unset to generate one',
      },
    );
  const logger = options.logger ?? createLogger('map-server');
  const host = options.host ?? '127.0.0.1';
  const metrics = new ServerMetrics();
  const boundaries = loadDistrictBoundaries();
  const basemap = loadBasemap('/basemap');
  const districtsJson = JSON.stringify(boundaries.geojson);
  const state = new LiveState(
    boundaries.districts.map((d) => d.code),
    options.state,
  );
  const app = uWS.App();
  const hub = new FanoutHub(
    state,
    boundaries.districts,
    (topic, payload) => app.publish(topic, payload),
    metrics,
    logger,
    options.fanout,
  );
  const staticDir = options.staticDir ?? resolve(PROJECT_ROOT, 'viz', 'dist');
  let allowedOrigins = new Set(options.allowedOrigins ?? []);
  const byToken = createAuthorize(options.token, options.access);
  const authorize = options.authorize ?? ((request: AccessRequest) => byToken(request.token));
  // Frames per consumer, added to the Prometheus counter when it is read: a labelled inc() per frame
  // and client is a measurable part of a flush (bench:fanout with governance).
  const framesTo = new Map<string, number>();
  hub.deliveries = (principal, topic, bytes) => {
    const consumer = principal.department ?? OPERATOR_CONSUMER;
    framesTo.set(consumer, (framesTo.get(consumer) ?? 0) + 1);
    // The ledger must not take the map down: a failure to record is logged, and the frame still goes.
    try {
      options.ledger?.frame(principal, topic, bytes);
    } catch (error) {
      metrics.httpErrors.inc({ route: '/ws ledger' });
      logger.error({ err: error, topic }, 'cannot record a frame in the exchange ledger');
    }
  };
  const recheck = setInterval(() => hub.recheck(), options.access?.recheckMs ?? 5_000);
  recheck.unref();
  const historyTables: HistoryTables = {
    ...DEFAULT_HISTORY_TABLES,
    database: options.env.CLICKHOUSE_DATABASE,
    ...(options.history ? options.history.tables : {}),
  };
  const historyClient =
    options.history === false
      ? undefined
      : (options.history?.client ?? createClickHouse(options.env, 'analyst', { requestTimeoutMs: 15_000 }));
  let cases: CaseConsole | undefined;
  const governance =
    historyClient && new GovernanceFigures(historyClient, historyTables.database, metrics, logger);
  governance?.start();
  let lastAggregateAt = 0;
  let lastKafkaTs = 0;
  const startedAt = Date.now();

  const apply = (message: AggregateMessage, timestamp = Date.now()): void => {
    metrics.aggregates.inc({ kind: message.kind });
    lastAggregateAt = Date.now();
    if (timestamp > lastKafkaTs) lastKafkaTs = timestamp;
    if (message.kind === 'watermark')
      metrics.dataLag.set({ stream: message.stream }, (Date.now() - message.watermark) / 1000);
    state.apply(message, timestamp);
  };
  const applyAlert = (alert: AlertEntity, timestamp = Date.now()): void => {
    state.applyAlert(alert, timestamp);
  };

  const originAllowed = (origin: string | undefined): boolean =>
    origin === undefined || origin === '' || allowedOrigins.has(origin);

  /** Who asks over HTTP; a missing or wrong token (or a foreign origin) is answered 401 here. */
  const httpPrincipal = (res: uWS.HttpResponse, req: uWS.HttpRequest, path: string) => {
    const access = accessOf(res, req, path);
    const principal = originAllowed(access.origin) ? authorize(access) : undefined;
    if (!principal) {
      metrics.rejected.inc({ reason: 'token' });
      send(res, '401 Unauthorized', 'text/plain', 'a valid token is required');
    }
    return principal;
  };
  const accessOf = (res: uWS.HttpResponse, req: uWS.HttpRequest, path: string): AccessRequest => {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.getHeader('authorization'))?.[1];
    const protocols = req
      .getHeader('sec-websocket-protocol')
      .split(',')
      .map((p) => p.trim());
    const fromProtocol = protocols
      .find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))
      ?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    const fromQuery = new URLSearchParams(req.getQuery() ?? '').get('token') ?? undefined;
    return {
      token: fromQuery ?? fromProtocol ?? bearer,
      origin: req.getHeader('origin') || undefined,
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      path,
    };
  };

  // A WebSocket handler that throws would end the process inside uWS: count it, log it, answer or close.
  const wsGuard =
    <A extends unknown[]>(what: string, handler: (...args: A) => void, recover: (...args: A) => void) =>
    (...args: A): void => {
      try {
        handler(...args);
      } catch (error) {
        metrics.httpErrors.inc({ route: `/ws ${what}` });
        logger.error({ err: error, handler: what }, 'WebSocket handler failed');
        try {
          recover(...args);
        } catch {
          // The socket or the response is gone already.
        }
      }
    };

  app.ws<{ principal: Principal; session?: ClientSession }>('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    // The hub keeps each client under its own limits (high water, then disconnect); this is the last guard.
    maxBackpressure: (options.fanout?.maxBufferedBytes ?? 16 * 1024 * 1024) * 2,
    closeOnBackpressureLimit: 1,
    upgrade: wsGuard(
      'upgrade',
      (res, req, context) => {
        const access = accessOf(res, req, '/ws');
        const key = req.getHeader('sec-websocket-key');
        const protocolHeader = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        if (!originAllowed(access.origin)) {
          metrics.rejected.inc({ reason: 'origin' });
          send(res, '403 Forbidden', 'text/plain', `origin ${printable(access.origin ?? '')} is not allowed`);
          return;
        }
        const principal = authorize(access);
        if (!principal) {
          metrics.rejected.inc({ reason: 'token' });
          send(res, '401 Unauthorized', 'text/plain', 'a valid token is required (?token=...)');
          return;
        }
        const offered = protocolHeader.split(',').map((p) => p.trim());
        const selected = offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : '';
        res.upgrade({ principal }, key, selected, extensions, context);
      },
      (res) => send(res, '500 Internal Server Error', 'text/plain', 'internal error during the upgrade\n'),
    ),
    open: wsGuard(
      'open',
      (ws) => {
        const data = ws.getUserData();
        data.session = hub.open(ws, data.principal);
      },
      (ws) => ws.end(1011, 'internal error'),
    ),
    message: wsGuard(
      'message',
      (ws, message) => {
        const session = ws.getUserData().session;
        if (session && !session.closed) hub.message(session, Buffer.from(message).toString('utf8'));
      },
      (ws) => ws.end(1011, 'internal error'),
    ),
    drain: (ws) => {
      const session = ws.getUserData().session;
      if (session && !session.closed) hub.drain(session);
    },
    close: (ws) => {
      const session = ws.getUserData().session;
      if (session) hub.close(session);
    },
  });

  registerHttpRoutes(app, {
    ...(options.ledger ? { ledger: options.ledger } : {}),
    logger,
    metrics,
    staticDir,
    basemap,
    districtsJson,
    health: () => {
      const readerHealth = reader?.health();
      const kafkaOk = options.kafka === false || readerHealth?.ok === true;
      const access = options.access?.health?.();
      const casesHealth = cases?.health();
      return {
        ok: kafkaOk && access?.ok !== false && casesHealth?.ok !== false,
        body: {
          status: !kafkaOk
            ? reader
              ? 'blind'
              : 'starting'
            : access?.ok === false
              ? 'grants unreadable'
              : 'ok',
          ...(access ? { access } : {}),
          ...(casesHealth ? { cases: casesHealth } : {}),
          ...(readerHealth ? { kafka_lag: readerHealth.lag, kafka_detail: readerHealth.detail } : {}),
          epoch: hub.epoch,
          clients: hub.clientCount,
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
          last_aggregate_age_s: lastAggregateAt ? (Date.now() - lastAggregateAt) / 1000 : null,
          topics: state.topics().length,
          kafka: options.kafka === false ? 'disabled' : reader ? reader.topics : 'connecting',
        },
      };
    },
    beforeMetrics: () => {
      for (const [consumer, frames] of framesTo)
        metrics.deliveries.inc({ exit: 'websocket', consumer }, frames);
      framesTo.clear();
      if (lastKafkaTs) metrics.consumeLag.set((Date.now() - lastKafkaTs) / 1000);
    },
    history: (res, req) => {
      const principal = httpPrincipal(res, req, '/api/history');
      if (!principal) return undefined;
      if (!historyClient) return null;
      const refused = historyRefusals(principal, options.access?.policy);
      return { client: historyClient, tables: historyTables, refused, principal };
    },
    cases: (res, req) => {
      const principal = httpPrincipal(res, req, '/api/cases');
      if (!principal) return undefined;
      return cases ? { console: cases, principal } : null;
    },
    governance: (res, req) => {
      const principal = httpPrincipal(res, req, '/api/governance');
      if (!principal) return undefined;
      const catalogue = options.access?.policy.catalogue;
      return governance ? { figures: governance, principal, catalogue } : null;
    },
  });

  const { listenSocket, port } = await listen(app, host, options.port ?? 8080, logger);
  const url = `http://${host}:${port}`;
  if (!options.allowedOrigins)
    allowedOrigins = new Set([url, `http://localhost:${port}`, `http://127.0.0.1:${port}`]);
  hub.start();

  let reader: AggregatesReader | undefined;
  if (options.kafka !== false) {
    try {
      cases = await CaseConsole.start(
        options.env,
        options.topicPrefix ?? options.env.CITY_OPS_TOPIC_PREFIX,
        logger,
        options.ledger,
      );
      reader = await startAggregatesReader({
        env: options.env,
        logger,
        ...(options.topicPrefix !== undefined ? { topicPrefix: options.topicPrefix } : {}),
        ...(options.historyMs !== undefined ? { historyMs: options.historyMs } : {}),
        ...(options.readerStallMs !== undefined ? { stallMs: options.readerStallMs, checkMs: 500 } : {}),
        onAggregate: apply,
        onAlert: applyAlert,
        onInvalid: (topic, reason) => {
          metrics.invalidMessages.inc({ topic });
          logger.warn({ topic, reason }, 'skipped a record that breaks the aggregates contract');
        },
      });
    } catch (error) {
      await cases?.stop();
      uWS.us_listen_socket_close(listenSocket);
      hub.stop();
      closeApp(app);
      throw error;
    }
  }
  logger.info({ url, kafka: options.kafka !== false }, 'map server listening');
  if (!isLoopback(host))
    logger.warn(
      { host },
      'listening beyond this machine without TLS: the token and the live data cross the network in clear; put the server behind a TLS proxy, or listen on 127.0.0.1',
    );

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url,
    token: options.token,
    state,
    hub,
    metrics,
    apply,
    applyAlert,
    close() {
      // Idempotent: a second call (a test cleaning up after a failed restart) waits for the first.
      closing ??= (async () => {
        clearInterval(recheck);
        governance?.stop();
        await reader?.stop();
        await cases?.stop();
        uWS.us_listen_socket_close(listenSocket);
        hub.stop();
        closeApp(app);
        if (historyClient && !(options.history && options.history.client !== undefined))
          await historyClient.close();
      })();
      return closing;
    },
  };
}

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `App.close()` (closes every socket) exists in the uWS binary but not in this build's type declarations. */
function closeApp(app: uWS.TemplatedApp): void {
  (app as uWS.TemplatedApp & { close(): void }).close();
}

/**
 * Listens on host:port. Right after a restart the port can stay refused for up to a minute: the
 * previous run's closed connections sit in TCP TIME_WAIT and this uWS build binds without
 * SO_REUSEADDR. So retry (logging it) for up to 70 s before giving up.
 */
async function listen(
  app: uWS.TemplatedApp,
  host: string,
  port: number,
  logger: Logger,
): Promise<{ listenSocket: uWS.us_listen_socket; port: number }> {
  const deadline = Date.now() + (port === 0 ? 0 : 70_000);
  let warned = false;
  for (;;) {
    const socket = await new Promise<uWS.us_listen_socket | false>((resolve) =>
      app.listen(host, port, (s) => resolve(s)),
    );
    if (socket) return { listenSocket: socket, port: uWS.us_socket_local_port(socket) };
    if (Date.now() > deadline)
      throw new CityOpsError('PORT_IN_USE', `the map server could not listen on ${host}:${port}`, {
        hint: 'another process uses that port: pick another with --port',
      });
    if (!warned) {
      warned = true;
      logger.warn(
        { host, port },
        'port busy (connections of a previous run in TIME_WAIT?): retrying for up to 70 s',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
