import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Environment, loadEnvironment, PROJECT_ROOT } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { migrate } from '../../connectors/clickhouse/migrate.ts';
import { CityOpsError, isCityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { EmbeddedEngine } from '../../pipeline/embeddedEngine.ts';
import { resolveEngineOptions } from '../../pipeline/engineOptions.ts';
import { generateToken, startMapServer } from '../../server/mapServer.ts';
import { simulateCity } from '../../simulator/simulateCity.ts';
import { LocalStack, stackEnvironment } from '../../stack/localStack.ts';
import type { Command } from '../main.ts';
import { Supervisor } from '../supervisor.ts';

const USAGE = `city-ops quickstart [--port 8080] [--rate N] [--embedded] [--metrics-port N] [--alerts-port N]

The main job, in one command: starts the local stack (Kafka + ClickHouse on 127.0.0.1), migrates the
schema, then runs the engine, the live map server, the city simulator at a live rate (event time = now)
and the alert path, each in a process of its own that is started again if it dies, and prints where to
look. Ctrl+C stops everything but the stack (\`city-ops stack down\` stops that).

  --port      port of the live map (default 8080)
  --metrics-port, --alerts-port   the engine's /metrics and /health (default 9464), the alert path's
              status server (default 9470)
  --rate      mean simulated events per second over a day (default 231.5, i.e. 20 million a day)
  --embedded  no Kafka, no ClickHouse: an in-process exchange with the same contract and operator graph
              (chosen automatically when the stack cannot be installed or started here)`;

/** Builds the page with vite when viz/dist is missing (first run after a clone). */
function ensurePageBuilt(log: (line: string) => void): void {
  if (existsSync(join(PROJECT_ROOT, 'viz', 'dist', 'index.html'))) return;
  log('building the map page (vite, once) ...');
  const vite = join(PROJECT_ROOT, 'node_modules', '.bin', 'vite');
  const result = spawnSync(vite, ['build', '--config', 'viz/vite.config.ts', '--logLevel', 'warn'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    throw new CityOpsError('INSTALL_FAILED', 'building the map page failed', {
      hint: 'run `npm run build:viz` to see why',
    });
  }
}

export const command: Command = {
  summary: 'The main job: local stack, schema, city simulator, engine and live map, all in one command.',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string', default: '8080' },
        'metrics-port': { type: 'string', default: '9464' },
        'alerts-port': { type: 'string', default: '9470' },
        rate: { type: 'string' },
        embedded: { type: 'boolean', default: false },
      },
    });
    const [port, metricsPort, alertsPort] = (['port', 'metrics-port', 'alerts-port'] as const).map((flag) => {
      const value = Number(values[flag]);
      if (!Number.isInteger(value) || value < 1 || value > 65_535)
        throw new CityOpsError('CLI_USAGE', `--${flag} must be a port number, not '${values[flag]}'`);
      return value;
    }) as [number, number, number];
    const rate = values.rate === undefined ? undefined : Number(values.rate);
    if (rate !== undefined && !(rate > 0))
      throw new CityOpsError('CLI_USAGE', '--rate must be a positive number');
    const log = (line: string) => process.stdout.write(`${line}\n`);
    let env = loadEnvironment();
    ensurePageBuilt(log);

    let embedded = values.embedded;
    let why = embedded ? 'asked for with --embedded' : '';
    if (!embedded) {
      try {
        env = stackEnvironment(log);
        await new LocalStack(env).up(log);
      } catch (error) {
        if (
          !isCityOpsError(error) ||
          !['PREREQUISITE_MISSING', 'INSTALL_FAILED', 'SERVICE_START_FAILED', 'PORT_IN_USE'].includes(
            error.code,
          )
        ) {
          throw error;
        }
        embedded = true;
        why = error.describe();
      }
    }
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    return embedded
      ? runEmbedded(env, { port, rate, why, log, signal: stop.signal })
      : runOnStack(env, { port, metricsPort, alertsPort, rate, log, signal: stop.signal });
  },
};

interface RunOptions {
  port: number;
  rate: number | undefined;
  log: (line: string) => void;
  signal: AbortSignal;
}

async function runOnStack(
  env: Environment,
  o: RunOptions & { metricsPort: number; alertsPort: number },
): Promise<number> {
  const client = createClickHouse(env);
  await migrate(client, env, o.log);
  await client.close();
  const token = process.env['CITY_OPS_MAP_TOKEN'] ?? generateToken();
  const supervisor = new Supervisor(join(env.CITY_OPS_STACK_DIR, 'quickstart'), (line) =>
    o.log(`quickstart: ${line}`),
  );
  const rate = o.rate ? ['--rate', String(o.rate)] : [];
  supervisor.start({
    name: 'engine',
    args: () => ['run', '--idle-timeout-ms', '15000', '--metrics-port', String(o.metricsPort)],
  });
  supervisor.start({
    name: 'map',
    args: () => ['serve', '--port', String(o.port)],
    env: { CITY_OPS_MAP_TOKEN: token },
  });
  // A new seed at every start: a restarted simulator must not send the ids of the first run again.
  supervisor.start({
    name: 'simulator',
    args: () => ['simulate', '--live', '--quiet', '--seed', String(Math.floor(Date.now() / 1000)), ...rate],
  });
  supervisor.start({ name: 'alerts', args: () => ['alerts', '--port', String(o.alertsPort)] });
  const url = `http://127.0.0.1:${o.port}`;
  banner(o.log, url, token, [
    `engine         metrics http://127.0.0.1:${o.metricsPort}/metrics, health /health`,
    `simulator      live, about ${o.rate ?? 231.5} events/s over a day (daily curve)`,
    `alerts         status http://127.0.0.1:${o.alertsPort}/status (rules: config/alerts.example.yaml; its webhook`,
    `               receivers are examples: deliveries to them retry and end in dead letters)`,
    `ClickHouse     clickhouse-client --user ${env.CLICKHOUSE_ANALYST_USER} --password "$(node -p "require('./.stack/credentials.json').clickhouse.analyst")"`,
    `               (or HTTP ${env.CLICKHOUSE_URL}); queries in docs/schema.md`,
    `               SELECT * FROM city.district_minute ORDER BY window_start DESC LIMIT 20`,
    `processes      engine, map, simulator and alerts each run apart and are started again if they die;`,
    `               their logs: ${join(env.CITY_OPS_STACK_DIR, 'quickstart')}/<name>.log`,
  ]);
  await new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve(), { once: true }));
  o.log('stopping: simulator, map, alerts, engine (the stack stays up: `city-ops stack down` stops it) ...');
  await supervisor.stop();
  return 0;
}

async function runEmbedded(env: Environment, o: RunOptions & { why: string }): Promise<number> {
  o.log(`EMBEDDED MODE (${o.why.split('\n')[0]}).`);
  o.log('Off in this mode: Kafka, ClickHouse, durability, the joined tables, history replay on the map.');
  o.log(
    'Same in this mode: the exchange contract, the worker pool and the per-partition windows of the engine.',
  );
  const logger = createLogger('city-ops', process.env['LOG_LEVEL'] ?? 'warn');
  const token = process.env['CITY_OPS_MAP_TOKEN'] ?? generateToken();
  const map = await startMapServer({ env, token, port: o.port, kafka: false, history: false, logger });
  const engine = new EmbeddedEngine(resolveEngineOptions({ idleTimeoutMs: 15_000 }), logger, (m) =>
    map.apply(m),
  );
  engine.start();
  const simulation = simulateCity({ live: true, ...(o.rate ? { rate: o.rate } : {}) });
  banner(o.log, map.url, map.token, [
    `simulator      live, about ${Math.round(simulation.options.rate as number)} events/s over a day, in-process exchange`,
  ]);
  // Live pacing: publish each record when its event time comes (the generator runs slightly ahead).
  for (const message of simulation) {
    if (o.signal.aborted) break;
    const wait = message.ts - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    engine.publish(message.stream, message.key, message.value);
  }
  o.log('stopping ...');
  await map.close();
  await engine.stop();
  return 0;
}

function banner(log: (line: string) => void, url: string, token: string, lines: string[]): void {
  log('');
  log('city-ops is running.');
  log(`live map       ${url}/#token=${encodeURIComponent(token)}`);
  for (const line of lines) log(line);
  log('Ctrl+C stops.');
  log('');
}
