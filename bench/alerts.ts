/**
 * Benchmark of the alert path: `npm run bench:alerts` (about 2 minutes on 2 cores; needs the local stack,
 * `city-ops stack up`). Writes bench/results/alerts.json.
 *
 * End to end, on this machine: the bench publishes `district_window` aggregates to a prefixed aggregates
 * topic; a `city-ops alerts` process (evaluator + dispatcher, ClickHouse delivery log on) turns every closed
 * window into an alert transition (a threshold rule with hysteresis; the bench alternates busy and quiet
 * minutes per district, so each window fires or resolves one alert), publishes it to the outbox and
 * delivers it, signed, to 50 webhook endpoints on 127.0.0.1 served by this process, which verify every
 * signature with the standardwebhooks library. 5 of the 50 endpoints (10 %) always answer 503: their
 * deliveries are retried (3 attempts) and dead-lettered, and must not slow the 45 others down.
 *
 * - throughput: a burst of windows published at once; alerts/s = alert events delivered to all 45 healthy
 *   endpoints per second, from the first publication to the last receipt;
 * - latency: windows published at a steady pace; for each (alert event, healthy endpoint), wall-clock time
 *   from the window's close (the publication of its final partial) to the webhook's receipt; p50/p95/p99.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { Webhook } from 'standardwebhooks';
import { ensureAlertTopics } from '../engine/alerts/alertKafka.ts';
import { loadEnvironment, PROJECT_ROOT } from '../engine/config/environment.ts';
import { createClickHouse } from '../engine/connectors/clickhouse/client.ts';
import { statements } from '../engine/connectors/clickhouse/migrations/0100_alerts.ts';
import { createKafka, ensureTopics } from '../engine/connectors/kafka/client.ts';
import {
  aggregateKey,
  type DistrictWindowMessage,
  districtWindowMessage,
} from '../engine/contract/aggregates.ts';
import { internalTopic } from '../engine/contract/topics.ts';

const ENDPOINTS = 50;
const FAILING = 5;
const DISTRICTS = 40;
const BURST_WINDOWS = 20; // 40 x 20 = 800 alert events in the burst
const PACED_WINDOWS = 20;
// One window of 40 districts every 5 s in the latency phase: 8 alerts/s, 360 deliveries/s, well under the
// burst's throughput, so the latency is not a queue's.
const PACE_MS = 5_000;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MINUTE = 60_000;

const started = Date.now();
const loadBefore = loadavg();
const suffix = Math.random().toString(16).slice(2, 10);
const prefix = `bench.alerts.${suffix}.`;
const env = loadEnvironment({ ...process.env, CITY_OPS_TOPIC_PREFIX: prefix });
const database = `alerts_bench_${suffix}`;

interface Receipt {
  readonly endpoint: number;
  readonly at: number;
  readonly district: string;
  readonly windowStart: number;
  readonly eventId: string;
}

const receipts: Receipt[] = [];
let statusPort = 0;
const statusPortNow = () => statusPort;
let invalidSignatures = 0;
let failingRequests = 0;
const verifier = new Webhook(SECRET);

function startReceiver(index: number): Promise<Server> {
  const failing = index < FAILING;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = Buffer.concat(chunks).toString();
      let event: { id: string; data: { district: string; window_start: string } };
      try {
        event = verifier.verify(body, req.headers as Record<string, string>) as typeof event;
      } catch {
        invalidSignatures += 1;
        res.writeHead(401).end();
        return;
      }
      if (failing) {
        failingRequests += 1;
        res.writeHead(503).end();
        return;
      }
      receipts.push({
        endpoint: index,
        at,
        district: event.data.district,
        windowStart: Date.parse(event.data.window_start),
        eventId: event.id,
      });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function rulesYaml(ports: number[]): string {
  const departments = ports
    .map(
      (port, i) => `  - id: d${i}
    name_en: Department ${i}
    name_zh: 部门${i}
    endpoints:
      - id: e${i}
        url: 'http://127.0.0.1:${port}/hook'
        secrets: [${SECRET}]
        timeout: 2s
        concurrency: 8
        retry: { max_attempts: 3, max_age: 1m, base_delay: 200ms, max_delay: 1s }
`,
    )
    .join('');
  return `version: 1
departments:
${departments}rules:
  - id: busy-district
    severity: warning
    title_en: 'Busy: {district} {value} events a minute'
    title_zh: '{district}繁忙：每分钟{value}条'
    source: { kind: district_window, stream: transport, indicator: events }
    condition: { type: threshold, direction: above, fire: 100, clear: 50 }
    cooldown: 0s
routes:
  - departments: [${ports.map((_, i) => `d${i}`).join(', ')}]
`;
}

function partial(district: string, start: number, busy: boolean): DistrictWindowMessage {
  const events = busy ? 150 : 20;
  return districtWindowMessage({
    stream: 'transport',
    district,
    window_start: start,
    window_end: start + MINUTE,
    final: true,
    events,
    distinct_keys: events,
    speed_sum: events * 30,
    speed_count: events,
  });
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      const status = await fetch(`http://127.0.0.1:${statusPortNow()}/status`)
        .then((r) => r.json())
        .catch(() => null);
      console.log(JSON.stringify(status).slice(0, 4000));
      throw new Error(
        `timed out waiting for ${what} (receipts ${receipts.length}, invalid signatures ${invalidSignatures}, failing-endpoint requests ${failingRequests})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const districts = Array.from({ length: DISTRICTS }, (_, i) => `44${String(i).padStart(4, '0')}`);
const healthy = ENDPOINTS - FAILING;
const dir = mkdtempSync(join(tmpdir(), 'city-ops-bench-alerts-'));
const clickhouse = createClickHouse(env);
const kafka = createKafka(env, `bench-alerts-${suffix}`);
let child: ChildProcess | undefined;
const servers: Server[] = [];

try {
  console.log(`bench:alerts: prefix ${prefix}, database ${database}`);
  await clickhouse.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  for (const sql of statements({ city: database, restricted: database }))
    await clickhouse.command({ query: sql });
  const aggregatesTopic = internalTopic('aggregates', prefix);
  await ensureTopics(env, [aggregatesTopic], 6);
  await ensureAlertTopics(env, 6);
  for (let i = 0; i < ENDPOINTS; i += 1) servers.push(await startReceiver(i));
  const rules = join(dir, 'rules.yaml');
  writeFileSync(rules, rulesYaml(servers.map((s) => (s.address() as AddressInfo).port)));

  child = spawn(
    process.execPath,
    [
      join(PROJECT_ROOT, 'bin/city-ops.mjs'),
      'alerts',
      '--rules',
      rules,
      '--port',
      '0',
      '--clickhouse-database',
      database,
    ],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CITY_OPS_TOPIC_PREFIX: prefix, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let ready = false;
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    const port = /alerts: status on http:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1];
    if (port) statusPort = Number(port);
    if (text.includes('alerts: running')) ready = true;
  });
  await waitFor('city-ops alerts to start', () => ready, 120_000);
  console.log('bench:alerts: city-ops alerts is running (evaluator + dispatcher)');

  const producer = kafka.producer({
    kafkaJS: { acks: -1 },
    'linger.ms': 1,
  } as KafkaJS.ProducerConstructorConfig);
  await producer.connect();
  const closedAt = new Map<number, number>();
  const publishWindow = async (start: number, busy: boolean) => {
    await producer.send({
      topic: aggregatesTopic,
      messages: districts.map((d) => {
        const message = partial(d, start, busy);
        return { key: aggregateKey(message), value: JSON.stringify(message) };
      }),
    });
    closedAt.set(start, Date.now());
  };
  const t0 = Date.UTC(2026, 10, 27, 0, 0);

  // Warm-up: one busy and one quiet window (80 alert events), not measured.
  await publishWindow(t0, true);
  await publishWindow(t0 + MINUTE, false);
  await waitFor('the warm-up alerts', () => receipts.length >= 2 * DISTRICTS * healthy, 60_000);
  const warmReceipts = receipts.length;

  // Throughput: a burst of windows, alternating busy and quiet: every window fires or resolves 40 alerts.
  const burstStart = Date.now();
  for (let w = 2; w < 2 + BURST_WINDOWS; w += 1) await publishWindow(t0 + w * MINUTE, w % 2 === 0);
  const burstPublished = Date.now();
  const burstExpected = BURST_WINDOWS * DISTRICTS * healthy;
  await waitFor('the burst to be delivered', () => receipts.length - warmReceipts >= burstExpected, 300_000);
  const burstEnd = Math.max(...receipts.slice(warmReceipts).map((r) => r.at));
  const burstSeconds = (burstEnd - burstStart) / 1000;
  const burstReceipts = receipts.length;
  console.log(
    `bench:alerts: burst of ${BURST_WINDOWS * DISTRICTS} alert events x ${healthy} endpoints in ${burstSeconds.toFixed(2)} s`,
  );

  // Latency: one window a second.
  const pacedFrom = 2 + BURST_WINDOWS;
  for (let w = pacedFrom; w < pacedFrom + PACED_WINDOWS; w += 1) {
    const next = Date.now() + PACE_MS;
    await publishWindow(t0 + w * MINUTE, w % 2 === 0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  }
  const pacedExpected = PACED_WINDOWS * DISTRICTS * healthy;
  let settled = false;
  const poll = setInterval(() => {
    fetch(`http://127.0.0.1:${statusPort}/status`)
      .then((r) => r.json())
      .then((s: { outbox: { pending_deliveries: number } }) => {
        settled = s.outbox.pending_deliveries === 0;
      })
      .catch(() => {});
  }, 500);
  await waitFor(
    'the paced windows to be delivered',
    () => receipts.length - burstReceipts >= pacedExpected,
    120_000,
  );
  const paced = receipts.slice(burstReceipts);
  const latencies = paced.map((r) => r.at - closedAt.get(r.windowStart)!).sort((a, b) => a - b);

  // Dead letters of the failing endpoints, and the delivery state in ClickHouse.
  await waitFor('every delivery to settle', () => settled, 120_000).catch(() => {});
  const status = (await fetch(`http://127.0.0.1:${statusPort}/status`)
    .then((r) => r.json())
    .catch(() => undefined)) as
    | undefined
    | { endpoints: Array<{ endpoint: string; failed: number; acknowledged: number }> };
  clearInterval(poll);
  child.kill('SIGTERM');
  await new Promise((resolve) => child!.once('exit', resolve));
  child = undefined;
  const states = await (
    await clickhouse.query({
      query: `SELECT status, count() AS n FROM ${database}.alert_delivery_state GROUP BY status ORDER BY status`,
      format: 'JSONEachRow',
    })
  ).json<{ status: string; n: string }>();
  const ids = new Map<string, number>();
  for (const r of receipts)
    ids.set(`${r.eventId}|${r.endpoint}`, (ids.get(`${r.eventId}|${r.endpoint}`) ?? 0) + 1);
  const duplicates = [...ids.values()].reduce((sum, n) => sum + n - 1, 0);

  const alertsPerSecond = (BURST_WINDOWS * DISTRICTS) / burstSeconds;
  const summary = {
    command: 'npm run bench:alerts',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    logicalCpus: cpus().length,
    totalMemoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    loadAverage1mBeforeAndAfter: [Number(loadBefore[0]!.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
    setup: {
      endpoints: ENDPOINTS,
      failingEndpoints: FAILING,
      failingBehaviour: 'always HTTP 503; 3 attempts (200 ms base backoff, full jitter), then dead letter',
      districts: DISTRICTS,
      routing: 'every alert to all 50 endpoints',
      processes:
        'bench process: Kafka producer of aggregates + 50 HTTP receivers verifying signatures (standardwebhooks); city-ops alerts process: evaluator + dispatcher + ClickHouse delivery log; Kafka and ClickHouse of the local stack; all on the same 2 cores',
    },
    throughput: {
      alertEvents: BURST_WINDOWS * DISTRICTS,
      deliveriesToHealthyEndpoints: burstExpected,
      publishSeconds: Number(((burstPublished - burstStart) / 1000).toFixed(3)),
      seconds: Number(burstSeconds.toFixed(3)),
      alertsPerSecondToAll45HealthyEndpoints: Number(alertsPerSecond.toFixed(1)),
      deliveriesPerSecond: Number((burstExpected / burstSeconds).toFixed(1)),
    },
    latencyWindowCloseToReceiptMs: {
      pace: `${DISTRICTS} alert events every ${PACE_MS} ms`,
      samples: latencies.length,
      p50: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1) ?? null,
    },
    failingEndpoints: {
      requests: failingRequests,
      deadLetteredPerStatusEndpoint:
        status?.endpoints
          .filter((e) => Number(e.endpoint.slice(1)) < FAILING)
          .reduce((s, e) => s + e.failed, 0) ?? null,
    },
    deliveryStatesInClickHouse: Object.fromEntries(states.map((s) => [s.status, Number(s.n)])),
    invalidSignatures,
    duplicateReceipts: duplicates,
    durationSeconds: Number(((Date.now() - started) / 1000).toFixed(1)),
  };
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'alerts.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
  console.log(`\nwrote ${out}`);
  await producer.disconnect();
} finally {
  child?.kill('SIGKILL');
  for (const s of servers) s.close();
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await clickhouse.close();
  rmSync(dir, { recursive: true, force: true });
}
