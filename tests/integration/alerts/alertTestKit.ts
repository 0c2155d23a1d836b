import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { toAlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import { alertId } from '../../../engine/alerts/alertIdentity.ts';
import { ensureAlertTopics } from '../../../engine/alerts/alertKafka.ts';
import type { AlertTopics } from '../../../engine/alerts/alertTopics.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import { type Environment, loadEnvironment } from '../../../engine/config/environment.ts';
import { type ClickHouseClient, createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { statements } from '../../../engine/connectors/clickhouse/migrations/0100_alerts.ts';
import { statements as caseStatements } from '../../../engine/connectors/clickhouse/migrations/0300_cases.ts';
import { createKafka, type KafkaClient } from '../../../engine/connectors/kafka/client.ts';
import { type CityOpsProcess, spawnCityOps } from '../../helpers/cityOpsProcess.ts';
import { uniqueSuffix } from '../../helpers/environment.ts';

/** An isolated world for one alert test file: topic prefix, ClickHouse database with migration 0100. */
export interface AlertWorld {
  readonly suffix: string;
  readonly env: Environment;
  readonly database: string;
  readonly kafka: KafkaClient;
  readonly clickhouse: ClickHouseClient;
  readonly topics: AlertTopics;
  close(): Promise<void>;
}

export async function createAlertWorld(partitions = 3): Promise<AlertWorld> {
  const suffix = uniqueSuffix();
  const env = loadEnvironment({ ...process.env, CITY_OPS_TOPIC_PREFIX: `test.alerts.${suffix}.` });
  const database = `alerts_test_${suffix}`;
  const clickhouse = createClickHouse(env);
  await clickhouse.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  // The test applies the alert (0100) and case (0300) migrations to its own database.
  for (const migration of [statements, caseStatements])
    for (const sql of migration({ city: database, restricted: database }))
      await clickhouse.command({ query: sql });
  const topics = await ensureAlertTopics(env, partitions);
  const kafka = createKafka(env, `alerts-test-${suffix}`);
  return {
    suffix,
    env,
    database,
    kafka,
    clickhouse,
    topics,
    async close() {
      const admin = kafka.admin();
      await admin.connect();
      const all = await admin.listTopics();
      await admin
        .deleteTopics({ topics: all.filter((t) => t.startsWith(env.CITY_OPS_TOPIC_PREFIX)) })
        .catch(() => {});
      await admin.disconnect();
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await clickhouse.close();
    },
  };
}

/** `count` alerts in districts 440303.., each firing and (every other one) resolved, event time from `t0`. */
export function syntheticTransitions(
  count: number,
  t0 = Date.UTC(2026, 10, 27, 1, 0),
  rule = 'slow',
): AlertTransition[] {
  const out: AlertTransition[] = [];
  for (let i = 0; i < count; i += 1) {
    const district = String(440303 + (i % 8));
    const started = t0 + i * 60_000;
    const base = {
      alert_id: alertId(rule, `district:${district}`, started),
      rule,
      severity: 'warning' as const,
      indicator: 'transport.mean_speed_kmh',
      condition: 'threshold' as const,
      district,
      title_en: `Slow #${i}`,
      title_zh: `缓慢 #${i}`,
      value: 9,
      threshold: 12,
      started_at: started,
    };
    out.push({ ...base, type: 'firing', at: started });
    if (i % 2 === 0)
      out.push({ ...base, type: 'resolved', resolved_at: started + 300_000, at: started + 300_000 });
  }
  return out;
}

/** Publishes transitions to the outbox as the evaluator does (CloudEvent JSON, keyed by alert id). */
export async function publishToOutbox(
  kafka: KafkaClient,
  topic: string,
  transitions: AlertTransition[],
): Promise<string[]> {
  const producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
  await producer.connect();
  const events = transitions.map((t) => toAlertCloudEvent(t));
  await producer.send({
    topic,
    messages: events.map((e) => ({ key: e.data.alert_id, value: JSON.stringify(e) })),
  });
  await producer.disconnect();
  return events.map((e) => e.id);
}

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A rules file with one department per receiver, every alert of rule `slow` routed to all of them. */
export function rulesFile(
  endpoints: Array<{
    id: string;
    url: string;
    secrets: readonly string[];
    extra?: string;
    department?: string;
  }>,
): string {
  return `version: 1
departments:
${endpoints
  .map(
    (e) => `  - id: ${e.department ?? `dept-${e.id}`}
    name_en: Department ${e.id}
    name_zh: 部门${e.id}
    endpoints:
      - id: ${e.id}
        url: '${e.url}'
        secrets: [${e.secrets.join(', ')}]
${e.extra ?? '        timeout: 2s\n        retry: { max_attempts: 20, max_age: 5m, base_delay: 100ms, max_delay: 2s }\n'}`,
  )
  .join('')}rules:
  - id: slow
    severity: warning
    title_en: 'Slow in {district_en}'
    title_zh: '{district_zh}缓慢'
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: 12, clear: 16 }
routes:
  - departments: [${endpoints.map((e) => e.department ?? `dept-${e.id}`).join(', ')}]
`;
}

export const SECRETS = [
  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  'whsec_UyDyyz5ALz1qN65lA7blRcGYz+v/Qk4Y',
  'whsec_ClIzedh2p+9X9VjeOQc3GWp6ACItt2VD',
  'whsec_exrk/S+VdIlpWH5J6kGZyJKRAckt0jq8',
] as const;

/** A `city-ops alerts` child process of a test. */
export interface AlertsRun extends CityOpsProcess {
  /** Port of its status server, once it printed it. */
  statusPort(): number | undefined;
}

/** Starts `city-ops alerts <args>` in `world` (its topic prefix and alert database), status on a free port. */
export function spawnAlerts(world: AlertWorld, args: readonly string[]): AlertsRun {
  const run = spawnCityOps(['alerts', ...args, '--port', '0', '--clickhouse-database', world.database], {
    CITY_OPS_TOPIC_PREFIX: world.env.CITY_OPS_TOPIC_PREFIX,
  });
  return {
    ...run,
    statusPort: () => {
      const line = run.output.find((l) => l.startsWith('alerts: status on http://127.0.0.1:'));
      return line ? Number(/:(\d+) /.exec(line)?.[1]) : undefined;
    },
  };
}
