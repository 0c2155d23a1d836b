import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAssessmentConfig } from '../../access/assessment.ts';
import type { ExchangeLedger } from '../../access/exchangeLedger.ts';
import { startExchangeAlerts } from '../../access/overdueAlerts.ts';
import { startWebhookLedger } from '../../access/webhookExit.ts';
import { AlertConfigWatcher } from '../../alerts/alertConfigWatcher.ts';
import { AlertDispatcher } from '../../alerts/alertDispatcher.ts';
import { AlertEvaluatorService } from '../../alerts/alertEvaluatorService.ts';
import { ensureAlertTopics } from '../../alerts/alertKafka.ts';
import { createAlertMetrics } from '../../alerts/alertMetrics.ts';
import { startAlertStatusServer } from '../../alerts/alertStatusServer.ts';
import { DeliveryLog } from '../../alerts/deliveryLog.ts';
import { loadAlertConfig } from '../../alerts/loadAlertConfig.ts';
import { CaseRoutes } from '../../cases/caseRoutes.ts';
import { CaseService } from '../../cases/caseService.ts';
import { watchCatalogue } from '../../catalogue/catalogueWatcher.ts';
import { loadCatalogue } from '../../catalogue/loadCatalogue.ts';
import { loadEnvironment, PROJECT_ROOT } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { sqlIdentifier } from '../../connectors/clickhouse/sqlLiteral.ts';
import { createKafka } from '../../connectors/kafka/client.ts';
import { internalTopic } from '../../contract/topics.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops alerts [options]

Evaluates the alert rules on the engine's aggregates (topic city.aggregates), publishes alert lifecycle
CloudEvents to the outbox (city.alerts) and delivers them, signed (Standard Webhooks), to the departments'
webhooks with retries and a durable outbox. docs/alerts.md describes the rules file and the guarantees.

Options:
  --rules <file>             rules file (default config/alerts.example.yaml); reloaded on change and on SIGHUP
  --check                    validate the rules file, print a summary and exit (0 valid, 2 invalid)
  --port <n>                 status server port on 127.0.0.1 (/health /metrics /status /deliveries);
                             default 9470, 0 picks a free port
  --only <parts>             run only these of 'evaluator', 'dispatcher' and 'cases', comma-separated
                             (default: all three)
  --clickhouse-database <db> database of the alert tables (default CLICKHOUSE_DATABASE)
  --no-clickhouse            do not write delivery states to ClickHouse
  --catalogue <file>         the catalogue that projects each department's payload (default
                             config/catalogue.yaml; docs/access.md)
  --snapshot-interval <ms>   evaluator snapshot and commit interval (default 5000)
  --idle-check <ms>          how often the evaluator checks for input partitions at their end, which then
                             stop holding complete windows back (default 1000)

Topics and consumer groups carry CITY_OPS_TOPIC_PREFIX. Stops gracefully on SIGTERM or SIGINT.`;

export const command: Command = {
  summary: 'Alert rules, routing and signed webhook delivery to departments (evaluator + dispatcher).',
  usage: USAGE,
  async run(argv) {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          rules: { type: 'string' },
          check: { type: 'boolean', default: false },
          port: { type: 'string', default: '9470' },
          only: { type: 'string' },
          'clickhouse-database': { type: 'string' },
          'no-clickhouse': { type: 'boolean', default: false },
          catalogue: { type: 'string' },
          'snapshot-interval': { type: 'string', default: '5000' },
          'idle-check': { type: 'string', default: '1000' },
        },
      }));
    } catch (cause) {
      throw new CityOpsError('CLI_USAGE', (cause as Error).message, { hint: 'see city-ops alerts --help' });
    }
    const port = Number(values['port']);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new CityOpsError('CLI_USAGE', `--port must be a port number, not '${values['port']}'`);
    }
    const only = values['only'] === undefined ? undefined : String(values['only']).split(',');
    const parts = ['evaluator', 'dispatcher', 'cases'];
    if (only?.some((part) => !parts.includes(part))) {
      throw new CityOpsError(
        'CLI_USAGE',
        `--only takes 'evaluator', 'dispatcher' or 'cases' (or a comma list), not '${only.join(',')}'`,
      );
    }
    const runs = (part: 'evaluator' | 'dispatcher' | 'cases') => only === undefined || only.includes(part);
    const snapshotIntervalMs = Number(values['snapshot-interval']);
    if (!Number.isInteger(snapshotIntervalMs) || snapshotIntervalMs < 100) {
      throw new CityOpsError('CLI_USAGE', '--snapshot-interval must be an integer of at least 100 (ms)');
    }
    const idleCheckMs = Number(values['idle-check']);
    if (!Number.isInteger(idleCheckMs) || idleCheckMs < 100) {
      throw new CityOpsError('CLI_USAGE', '--idle-check must be an integer of at least 100 (ms)');
    }
    const path = resolve(String(values['rules'] ?? resolve(PROJECT_ROOT, 'config/alerts.example.yaml')));
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const loaded = await loadAlertConfig(path);
    out(
      `alerts: rules ${path}: ${loaded.config.rules.length} rules, ${loaded.config.departments.length} departments, ${loaded.endpoints.size} endpoints, ${loaded.config.routes.length} routes`,
    );
    if (values['check']) {
      for (const rule of loaded.config.rules) {
        out(
          `  rule ${rule.id}: ${rule.severity}, ${rule.source.kind} ${rule.source.indicator}, ${rule.condition.type}${rule.enabled ? '' : ' (disabled)'}`,
        );
      }
      for (const [id, endpoint] of loaded.endpoints)
        out(
          `  endpoint ${id} (${endpoint.department}): ${endpoint.url}, ${endpoint.secrets.length} secret(s)`,
        );
      return 0;
    }

    const env = loadEnvironment();
    const logger = createLogger('city-ops-alerts');
    const prefix = env.CITY_OPS_TOPIC_PREFIX;
    const kafka = createKafka(env, 'city-ops-alerts', logger);
    const metrics = createAlertMetrics();
    const topics = await ensureAlertTopics(env);
    out(
      `alerts: topics ${topics.alerts} (outbox), ${topics.acks}, ${topics.deadLetters}, ${topics.evaluatorState}`,
    );

    let log: DeliveryLog | undefined;
    let ledger: ExchangeLedger | undefined;
    const clickhouse = values['no-clickhouse'] ? undefined : createClickHouse(env);
    const database = sqlIdentifier(String(values['clickhouse-database'] ?? env.CLICKHOUSE_DATABASE));
    if (clickhouse) {
      const exists = await clickhouse
        .query({ query: `EXISTS TABLE ${database}.alert_deliveries`, format: 'JSONEachRow' })
        .then((r) => r.json<{ result: number }>())
        .then((rows) => Number(rows[0]?.result) === 1)
        .catch((cause) => {
          throw new CityOpsError(
            'SERVICE_UNAVAILABLE',
            `ClickHouse at ${env.CLICKHOUSE_URL} did not answer`,
            {
              cause,
              hint: 'start it (`city-ops stack up`) or pass --no-clickhouse',
            },
          );
        });
      if (!exists) {
        throw new CityOpsError('CONFIG_INVALID', `table ${database}.alert_deliveries does not exist`, {
          hint: 'run `city-ops migrate` first (migration 0100_alerts), or pass --no-clickhouse',
        });
      }
      log = new DeliveryLog(clickhouse, database, logger);
      // The ledger's writer `alerts` is the dispatcher's: one process per writer, or the chains fork.
      if (runs('dispatcher')) ledger = await startWebhookLedger(env, clickhouse, database, logger);
    }

    let evaluator: AlertEvaluatorService | undefined;
    let dispatcher: AlertDispatcher | undefined;
    const catalogue = watchCatalogue(
      await loadCatalogue(typeof values['catalogue'] === 'string' ? resolve(values['catalogue']) : undefined),
      logger,
    );
    catalogue.start();
    const watcher = new AlertConfigWatcher(path, loaded, logger, (next) => {
      out(`alerts: rules reloaded (${next.config.rules.length} rules, ${next.endpoints.size} endpoints)`);
      void evaluator?.reload(next);
    });
    if (runs('evaluator')) {
      evaluator = new AlertEvaluatorService({
        kafka,
        topics,
        aggregatesTopic: internalTopic('aggregates', prefix),
        groupId: `${prefix}city-ops-alert-evaluator`,
        config: loaded,
        logger: logger.child({ component: 'evaluator' }),
        metrics,
        snapshotIntervalMs,
        idleCheckMs,
      });
    }
    let failed: (error: unknown) => void = () => {};
    const fatal = new Promise<string>((done) => {
      failed = (error) => done(`FATAL ${String(error).slice(0, 200)}`);
    });
    const cases = runs('cases')
      ? new CaseService({
          kafka,
          topics,
          groupId: `${prefix}city-ops-cases`,
          config: () => watcher.config,
          logger: logger.child({ component: 'cases' }),
          ...(clickhouse ? { clickhouse: { client: clickhouse, database } } : {}),
          onFatal: failed,
        })
      : undefined;
    if (runs('dispatcher')) {
      dispatcher = new AlertDispatcher({
        catalogue: () => catalogue.current.catalogue,
        ...(ledger ? { ledger } : {}),
        kafka,
        topics,
        groupId: `${prefix}city-ops-alert-dispatcher`,
        config: () => watcher.config,
        logger: logger.child({ component: 'dispatcher' }),
        metrics,
        ...(log ? { log } : {}),
      });
    }
    const status = await startAlertStatusServer(
      {
        registry: metrics.registry,
        config: () => watcher.config,
        dispatcher,
        evaluator,
        startedAt: Date.now(),
        cases: cases && { service: cases, routes: new CaseRoutes(cases, () => watcher.config) },
      },
      port,
    );
    out(
      `alerts: status on http://127.0.0.1:${status.port} (/health /metrics /status /deliveries${cases ? ' /cases' : ''})`,
    );
    await Promise.all([evaluator?.start(), dispatcher?.start(), cases?.start()]);
    watcher.start();
    // The exchange's own alerts (docs/access.md): overdue answers to grant requests, silent providers.
    const assessment = await loadAssessmentConfig();
    const overdue =
      evaluator && clickhouse
        ? await startExchangeAlerts(
            kafka,
            topics.alerts,
            clickhouse,
            env.CLICKHOUSE_DATABASE,
            () => catalogue.current.catalogue,
            assessment.freshness_seconds * 1000 * assessment.silent_cycles,
            logger,
          )
        : undefined;
    out(
      `alerts: running${evaluator ? ' evaluator' : ''}${dispatcher ? ' dispatcher' : ''}${cases ? ' cases' : ''}; SIGHUP reloads the rules, SIGTERM stops`,
    );

    const onHup = () => void watcher.reload();
    process.on('SIGHUP', onHup);
    const signal = await Promise.race([
      fatal,
      new Promise<string>((done) => {
        process.once('SIGTERM', () => done('SIGTERM'));
        process.once('SIGINT', () => done('SIGINT'));
      }),
    ]);
    out(`alerts: ${signal}: stopping (in-flight deliveries get 10 s to finish)`);
    process.off('SIGHUP', onHup);
    watcher.stop();
    catalogue.stop();
    await overdue?.stop();
    await evaluator?.stop();
    await dispatcher?.stop();
    await cases?.stop();
    await ledger?.stop();
    await log?.close();
    await clickhouse?.close();
    await status.close();
    out('alerts: stopped');
    return signal.startsWith('FATAL') ? 1 : 0;
  },
};
