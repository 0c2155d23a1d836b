import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { latLngToCell } from 'h3-js';
import { type Environment, loadEnvironment, PROJECT_ROOT } from '../../engine/config/environment.ts';
import {
  type ClickHouseClient,
  createClickHouse,
  selectRows,
} from '../../engine/connectors/clickhouse/client.ts';
import { migrate } from '../../engine/connectors/clickhouse/migrate.ts';
import { createKafka, ensureTopics } from '../../engine/connectors/kafka/client.ts';
import { allTopics, STREAM_NAMES, streamTopic } from '../../engine/contract/topics.ts';
import {
  computeIncidentImpact,
  type IncidentOpening,
  type PopulationReport,
  type VehicleObservation,
} from '../../engine/pipeline/incidentImpact.ts';
import { ENGINE_THREADPOOL_SIZE } from '../../engine/pipeline/streamEngine.ts';
import { type PublishProgress, publishSimulation } from '../../engine/simulator/publishSimulation.ts';
import { SimulationTruth, type SimulationTruthFile } from '../../engine/simulator/SimulationTruth.ts';
import { type SimulatedMessage, simulateCity } from '../../engine/simulator/simulateCity.ts';
import type { SimulationOptionsInput } from '../../engine/simulator/simulationOptions.ts';
import { uniqueSuffix } from './environment.ts';

export const BIN = join(PROJECT_ROOT, 'bin', 'city-ops.mjs');
export const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');

/** An isolated run of the real path: its own topics (prefix), consumer group and databases. */
export interface EngineRun {
  readonly name: string;
  readonly env: Environment;
  readonly groupId: string;
  readonly clickhouse: ClickHouseClient;
  readonly db: string;
  readonly restricted: string;
}

/** Creates topics (`partitions` each) and migrated databases of their own for one test. */
export async function prepareRun(
  name: string,
  options: { partitions?: number; databases?: { city: string; restricted: string } } = {},
): Promise<EngineRun> {
  const id = uniqueSuffix();
  const db = options.databases?.city ?? `t_${name}_${id}`;
  const restricted = options.databases?.restricted ?? `t_${name}_${id}_restricted`;
  const env = loadEnvironment({
    ...process.env,
    CITY_OPS_TOPIC_PREFIX: `t-${name}-${id}.`,
    CLICKHOUSE_DATABASE: db,
    CLICKHOUSE_RESTRICTED_DATABASE: restricted,
  });
  await ensureTopics(env, allTopics(env.CITY_OPS_TOPIC_PREFIX), options.partitions ?? 6);
  const clickhouse = createClickHouse(env);
  await migrate(clickhouse, env);
  return { name, env, groupId: `engine-${name}-${id}`, clickhouse, db, restricted };
}

/** Drops what `prepareRun` created (databases it named itself, and its topics). */
export async function cleanupRun(run: EngineRun, dropDatabases = true): Promise<void> {
  if (dropDatabases) {
    await run.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${run.db}` });
    await run.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${run.restricted}` });
  }
  await run.clickhouse.close();
  const admin = createKafka(run.env, 'test-cleanup').admin();
  await admin.connect();
  await admin.deleteTopics({ topics: allTopics(run.env.CITY_OPS_TOPIC_PREFIX) }).catch(() => {});
  await admin.disconnect();
}

/** A simulation published to the run's topics, and everything needed to check the engine against it. */
export interface Published {
  readonly truth: SimulationTruthFile;
  readonly messages: SimulatedMessage[];
}

/**
 * Runs the simulator (in this process) into the run's topics; resolves once every message is acknowledged.
 * `onProgress` is called every `progressIntervalMs` (default 5000) while it publishes.
 */
export async function publish(
  run: EngineRun,
  options: SimulationOptionsInput,
  progress: { onProgress?: (p: PublishProgress) => void; progressIntervalMs?: number } = {},
): Promise<Published> {
  const simulation = simulateCity(options);
  const truth = new SimulationTruth(simulation.options);
  const report = await publishSimulation(simulation, { env: run.env, truth, ...progress });
  if (report.deliveryFailures > 0) throw new Error(`${report.deliveryFailures} messages were not delivered`);
  return { truth: truth.toJSON(), messages: [...simulateCity(options)] };
}

/** An engine process (`city-ops run`) of the run, logging to test-artifacts/<group id>-<n>.log. */
export interface EngineProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly logFile: string;
}

/** The engines each run started, so that a timeout can show what they logged. */
const enginesOfRun = new WeakMap<EngineRun, EngineProcess[]>();

export function startEngine(run: EngineRun, extraArgs: string[] = []): EngineProcess {
  return startCityOps(run, [
    'run',
    '--group-id',
    run.groupId,
    '--idle-timeout-ms',
    '2000',
    '--metrics-port',
    '0',
    '--flush-interval-ms',
    '500',
    '--workers',
    '2',
    ...extraArgs,
  ]);
}

/** Starts `city-ops <args>` on the run's topics and databases, its output in test-artifacts/. */
export function startCityOps(run: EngineRun, args: string[]): EngineProcess {
  mkdirSync(ARTIFACTS, { recursive: true });
  const started = enginesOfRun.get(run) ?? [];
  // The group id is unique per run, so logs of earlier runs and of other test files are never overwritten.
  const logFile = join(ARTIFACTS, `${run.groupId}-${started.length + 1}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      ...process.env,
      CITY_OPS_TOPIC_PREFIX: run.env.CITY_OPS_TOPIC_PREFIX,
      CLICKHOUSE_DATABASE: run.db,
      CLICKHOUSE_RESTRICTED_DATABASE: run.restricted,
      LOG_LEVEL: 'info',
      UV_THREADPOOL_SIZE: String(ENGINE_THREADPOOL_SIZE),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const engine = { child, exited, logFile };
  started.push(engine);
  enginesOfRun.set(run, started);
  return engine;
}

/**
 * What the run's engines said lately, for a failure message: per engine its exit status, its last progress
 * line and its last warnings and errors (pino levels 40 and above), each line cut short. CI keeps only what a
 * test prints, not test-artifacts/, so this is what tells why a run stalled.
 */
export function engineLogTails(run: EngineRun, warnings = 12): string {
  const parts: string[] = [];
  for (const engine of enginesOfRun.get(run) ?? []) {
    const lines = existsSync(engine.logFile) ? readFileSync(engine.logFile, 'utf8').split('\n') : [];
    const progress = lines.findLast((l) => l.includes('"msg":"progress"'));
    // librdkafka's own complaints (connection refused while a broker is down) would crowd out the engine's.
    const serious = lines.filter((l) => /"level":(4|5|6)0/.test(l));
    const client = serious.filter((l) => l.includes('"component":"kafka-client"'));
    const own = serious.filter((l) => !l.includes('"component":"kafka-client"')).slice(-warnings);
    const status =
      engine.child.exitCode !== null || engine.child.signalCode !== null
        ? `exited (${engine.child.exitCode ?? engine.child.signalCode})`
        : 'running';
    parts.push(
      [
        `--- ${engine.logFile} (${status}, ${lines.length} lines, ${client.length} Kafka client errors, last:)`,
        client.at(-1) ?? '(none)',
        progress ?? '(no progress line)',
        ...own,
      ]
        .map((l) => (l.length > 600 ? `${l.slice(0, 600)}...` : l))
        .join('\n'),
    );
  }
  return parts.join('\n');
}

/** Stops an engine process: SIGTERM (graceful) or SIGKILL (a crash). */
export async function stopEngine(
  engine: EngineProcess,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  if (engine.child.exitCode !== null || engine.child.signalCode !== null) return;
  engine.child.kill(signal);
  await engine.exited;
  // A graceful stop ends with exit code 0: a crash on the way out (a native addon's SIGSEGV at exit was
  // seen once) must not pass unnoticed.
  if (signal === 'SIGTERM' && engine.child.exitCode !== 0) {
    throw new Error(
      `the engine did not stop cleanly on SIGTERM: ${engine.child.exitCode ?? engine.child.signalCode} (log: ${engine.logFile})`,
    );
  }
}

export async function query<T = Record<string, unknown>>(
  client: ClickHouseClient,
  sql: string,
): Promise<T[]> {
  return selectRows<T>(client, sql);
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws with `describe()`). */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(1_000);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
}

/** `city.district_minute` as `stream|district|window_start(ms)` -> events. */
export async function districtMinute(run: EngineRun): Promise<Map<string, number>> {
  const rows = await query<{ stream: string; district: string; ws: string; events: string }>(
    run.clickhouse,
    `SELECT stream, district, toUInt64(window_start) * 1000 AS ws, events FROM ${run.db}.district_minute`,
  );
  return new Map(rows.map((r) => [`${r.stream}|${r.district}|${r.ws}`, Number(r.events)]));
}

export function truthDistrictMinute(truth: SimulationTruthFile): Map<string, number> {
  return new Map(truth.windows.map((w) => [`${w.stream}|${w.district}|${w.window_start}`, w.events]));
}

/**
 * Waits until the engine has written and finalized everything the simulation published. With `lateCounts`,
 * a record in `city.late_events` counts as written, so that a test asserting that nothing is late fails on
 * that assertion at once instead of waiting out its timeout.
 */
export async function waitForCompletion(
  run: EngineRun,
  published: Published,
  timeoutMs = 180_000,
  { lateCounts = false }: { lateCounts?: boolean } = {},
): Promise<void> {
  const expectedEvents = published.truth.totals.accepted;
  const expectedDead = published.truth.totals.invalid;
  const lastTs = published.truth.event_time.last ?? 0;
  const state = async () => {
    const [minute] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT sum(events) AS n FROM ${run.db}.district_minute`,
    );
    const [dead] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.dead_letters FINAL`,
    );
    const progress = await query<{ kind: string; through: string }>(
      run.clickhouse,
      `SELECT splitByChar(':', what)[1] AS kind, max(finalized_through_ms) AS through FROM ${run.db}.finalizer_progress
       WHERE what IN ('pulse:${run.env.CITY_OPS_TOPIC_PREFIX}', 'impact:${run.env.CITY_OPS_TOPIC_PREFIX}') GROUP BY kind`,
    );
    const through = Object.fromEntries(progress.map((p) => [p.kind, Number(p.through)]));
    const [late] = lateCounts
      ? await query<{ n: string }>(run.clickhouse, `SELECT count() AS n FROM ${run.db}.late_events`)
      : [];
    return {
      events: Number(minute?.n ?? 0),
      dead: Number(dead?.n ?? 0),
      late: Number(late?.n ?? 0),
      through,
    };
  };
  await waitUntil(
    async () => {
      const s = await state();
      return (
        (lateCounts ? s.events + s.late >= expectedEvents : s.events === expectedEvents) &&
        s.dead === expectedDead &&
        (s.through['pulse'] ?? 0) > lastTs &&
        (s.through['impact'] ?? 0) > lastTs
      );
    },
    timeoutMs,
    async () =>
      `${JSON.stringify({
        expected: { events: expectedEvents, dead: expectedDead, lastTs },
        actual: await state(),
      })}\n${engineLogTails(run)}`,
  );
}

/**
 * Waits until the run's consumer group has committed every partition of the input topics up to its end:
 * since the engine commits only what it has written, everything is in ClickHouse then. For runs that share
 * a database with other data, where totals cannot tell.
 */
export async function waitForDrained(run: EngineRun, timeoutMs = 180_000): Promise<void> {
  const admin = createKafka(run.env, 'test-drained').admin();
  await admin.connect();
  const lag = async () => {
    let behind = 0;
    for (const stream of STREAM_NAMES) {
      const topic = streamTopic(stream, run.env.CITY_OPS_TOPIC_PREFIX);
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: run.groupId, topics: [topic] });
      for (const end of ends) {
        const at = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        behind += Math.max(0, Number(end.high) - Math.max(0, at));
      }
    }
    return behind;
  };
  try {
    await waitUntil(
      async () => (await lag()) === 0,
      timeoutMs,
      async () => `${await lag()} messages not committed`,
    );
  } finally {
    await admin.disconnect();
  }
}

interface ParsedRecord {
  id: string;
  ts: number;
  lat: number;
  lon: number;
  [field: string]: unknown;
}

function validRecords(
  published: Published,
  stream: SimulatedMessage['stream'],
): Array<{ m: SimulatedMessage; r: ParsedRecord }> {
  return published.messages
    .filter((m) => m.stream === stream && m.kind === 'valid')
    .map((m) => ({ m, r: JSON.parse(m.value) as ParsedRecord }));
}

/** Brute force of `city.incident_impact`: every incident against every vehicle observation and count. */
export function expectedIncidentImpact(
  published: Published,
  options = { radiusM: 500, bandMs: 120_000, rings: 1, maxAgeMs: 15 * 60_000 },
): Map<string, { vehicles: number; vehicle_observations: number; people_present: number; nearest: string }> {
  const openings = new Map<string, IncidentOpening>();
  for (const { m, r } of validRecords(published, 'events')) {
    if (r['status'] !== 'open') continue;
    const opening: IncidentOpening = {
      incident_id: String(r['incident_id'] ?? r.id),
      id: r.id,
      ts_ms: m.ts,
      district: m.district,
      category: String(r['category']),
      severity: Number(r['severity']),
      lat: r.lat,
      lon: r.lon,
      cell: latLngToCell(r.lat, r.lon, 8),
    };
    const previous = openings.get(opening.incident_id);
    if (
      !previous ||
      opening.ts_ms < previous.ts_ms ||
      (opening.ts_ms === previous.ts_ms && opening.id < previous.id)
    ) {
      openings.set(opening.incident_id, opening);
    }
  }
  const observations: VehicleObservation[] = validRecords(published, 'transport').map(({ m, r }) => ({
    vehicle: String(r['vehicle']),
    mode: String(r['mode']),
    lat: r.lat,
    lon: r.lon,
    ts_ms: m.ts,
  }));
  const reports: PopulationReport[] = validRecords(published, 'population').map(({ m, r }) => ({
    cell: r.lat === undefined ? String(r['h3']) : latLngToCell(r.lat, r.lon, 8),
    ts_ms: m.ts,
    present: Number(r['present']),
  }));
  const expected = new Map<
    string,
    { vehicles: number; vehicle_observations: number; people_present: number; nearest: string }
  >();
  for (const opening of openings.values()) {
    const impact = computeIncidentImpact(opening, observations, reports, options);
    expected.set(opening.incident_id, {
      vehicles: impact.vehicles,
      vehicle_observations: impact.vehicleObservations,
      people_present: impact.peoplePresent,
      nearest: JSON.stringify(impact.nearest),
    });
  }
  return expected;
}

export async function actualIncidentImpact(run: EngineRun) {
  const rows = await query<{
    incident_id: string;
    vehicles: string;
    vehicle_observations: string;
    people_present: string;
    nearest_vehicles: string;
  }>(
    run.clickhouse,
    `SELECT incident_id, vehicles, vehicle_observations, people_present, nearest_vehicles FROM ${run.db}.incident_impact FINAL`,
  );
  return new Map(
    rows.map((r) => [
      r.incident_id,
      {
        vehicles: Number(r.vehicles),
        vehicle_observations: Number(r.vehicle_observations),
        people_present: Number(r.people_present),
        nearest: r.nearest_vehicles,
      },
    ]),
  );
}

/**
 * Brute force of `city.district_pulse` for the minutes in [from, to): window figures from the truth, incident
 * lifecycles from the published reports (first open report, last closed report, district of the first report).
 */
export function expectedPulse(
  published: Published,
  from: number,
  to: number,
): Map<string, Record<string, number>> {
  const rows = new Map<string, Record<string, number>>();
  const row = (district: string, minute: number) => {
    const key = `${district}|${minute}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        vehicles_seen: 0,
        transport_events: 0,
        speed_count: 0,
        speed_sum: 0,
        incidents_opened: 0,
        incidents_closed: 0,
        incidents_open: 0,
        severe_reports: 0,
        people_present: 0,
        net_inflow: 0,
      };
      rows.set(key, r);
    }
    return r;
  };
  for (const w of published.truth.windows) {
    if (w.window_start < from || w.window_start >= to) continue;
    const r = row(w.district, w.window_start);
    if (w.stream === 'transport') {
      r['transport_events']! += w.events;
      r['vehicles_seen']! += w.distinct_keys;
      r['speed_count']! += w.speed_count;
      r['speed_sum']! += w.speed_sum;
    } else if (w.stream === 'events') {
      r['severe_reports']! += w.severe;
    } else {
      r['people_present']! += w.present;
      r['net_inflow']! += w.inflow - w.outflow;
    }
  }
  const incidents = new Map<string, { firstTs: number; district: string; opened: number; closed: number }>();
  for (const { m, r } of validRecords(published, 'events')) {
    const id = String(r['incident_id'] ?? r.id);
    const seconds = Math.floor(m.ts / 1000) * 1000;
    const i = incidents.get(id) ?? { firstTs: Number.POSITIVE_INFINITY, district: '', opened: 0, closed: 0 };
    if (m.ts < i.firstTs) {
      i.firstTs = m.ts;
      i.district = m.district;
    }
    if (r['status'] === 'open' && (i.opened === 0 || seconds < i.opened)) i.opened = seconds;
    if (r['status'] === 'closed' && seconds > i.closed) i.closed = seconds;
    incidents.set(id, i);
  }
  const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60_000;
  for (const i of incidents.values()) {
    if (i.opened > 0 && i.opened >= from && i.opened < to)
      row(i.district, minuteOf(i.opened))['incidents_opened']! += 1;
    if (i.closed > 0 && i.closed >= from && i.closed < to)
      row(i.district, minuteOf(i.closed))['incidents_closed']! += 1;
    if (i.opened === 0) continue;
    // Open at the end of minute m: opened before m + 60 s and not closed by then.
    for (let m = Math.max(minuteOf(i.opened), from); m < to; m += 60_000) {
      if (i.closed > 0 && i.closed < m + 60_000) break;
      row(i.district, m)['incidents_open']! += 1;
    }
  }
  return rows;
}

export async function actualPulse(run: EngineRun): Promise<Map<string, Record<string, number>>> {
  const rows = await query<Record<string, string | number | null>>(
    run.clickhouse,
    `SELECT district, toUInt64(window_start) * 1000 AS ws, vehicles_seen, transport_events, speed_count, speed_sum,
            incidents_opened, incidents_closed, incidents_open, severe_reports, people_present, net_inflow
     FROM ${run.db}.district_pulse FINAL`,
  );
  return new Map(
    rows.map((r) => {
      const { district, ws, ...figures } = r;
      return [
        `${district}|${ws}`,
        Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v)])),
      ];
    }),
  );
}

/** The finalizer's progress: minutes of district_pulse are final up to this (epoch ms). */
export async function pulseRange(run: EngineRun): Promise<{ from: number; to: number }> {
  const [row] = await query<{ first: string; through: string }>(
    run.clickhouse,
    `SELECT (SELECT toUInt64(min(window_start)) * 1000 FROM ${run.db}.window_partials) AS first,
            (SELECT max(finalized_through_ms) FROM ${run.db}.finalizer_progress WHERE what = 'pulse:${run.env.CITY_OPS_TOPIC_PREFIX}') AS through`,
  );
  return { from: Number(row?.first ?? 0), to: Number(row?.through ?? 0) };
}
