/**
 * Fan-out benchmark of the map server: `npm run bench:fanout` (about 2 minutes on 2 cores; needs the local
 * stack, `city-ops stack up`). Writes bench/results/fanout.json.
 *
 * Three processes on this machine, all on loopback:
 * - this one, the engine's stand-in: every second it publishes one tick of a synthetic city (district
 *   windows of 3 streams x 8 districts, watermarks, 10 000 H3 cells of people counts, 2 000 vehicle
 *   positions) to a prefixed `city.aggregates` topic of the real Kafka broker;
 * - the map server (`startMapServer`, as `city-ops serve` runs it), reading that topic; it samples its own
 *   CPU time and memory every second;
 * - a client process holding CLIENTS WebSocket connections (the `ws` package), each subscribed to the
 *   `districts` layer and the `cells` (H3) layer of one district (round robin over the 8), at H3 resolution 7.
 *
 * Latency: for every delta a client receives, wall-clock receive time minus the delta's `src`, the Kafka
 * timestamp at which the engine (here: this process) produced the oldest aggregate in it: engine emit ->
 * Kafka -> map server -> client. Clients read `src` from the message head rather than parsing the whole
 * JSON, so that 10 000 clients sharing 2 cores with everything else measure the server, not their parser.
 *
 * Delivery floor: a second phase runs the same client processes against a bare uWebSockets.js server (no Kafka,
 * no state, nothing to parse) that publishes, once a second, one frame per client holding as many bytes as a
 * client received per second in the first phase (the map server's deltas of one tick reach a client in one
 * write too). What the clients measure there is the cost
 * of delivering to 10 000 `ws` connections on this machine alone, the part of the latency no server design
 * can take away; `deliveryFloorMs` in the results. FANOUT_FLOOR=0 skips it.
 *
 * Environment: FANOUT_CLIENTS (default 10000), FANOUT_SECONDS (measured seconds, default 60),
 * FANOUT_WARMUP_SECONDS (default 15), FANOUT_CELLS (default 10000), FANOUT_RESOLUTION (default 7),
 * FANOUT_CLIENT_PROCESSES (default 2), FANOUT_QUIET_MS (the map server's quiet period, default 30),
 * FANOUT_FLOOR_SECONDS (default 20), FANOUT_GOVERNANCE=1 (departments' tokens, bench/fanoutGovernance.ts),
 * FANOUT_DISTRICTS_PER_CLIENT (default 1), FANOUT_OUT (result file, default fanout.json), FANOUT_NODE_ARGS (extra node
 * options for the child processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */

import uWS from 'uWebSockets.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadEnvironment, PROJECT_ROOT } from '../engine/config/environment.ts';
import { createKafka } from '../engine/connectors/kafka/client.ts';
import { internalTopic } from '../engine/contract/topics.ts';
import { loadDistrictBoundaries } from '../engine/server/districtBoundaries.ts';
import { startMapServer } from '../engine/server/mapServer.ts';
import { publishAggregates } from '../engine/server/publishAggregates.ts';
import { SyntheticCity } from '../engine/server/syntheticCity.ts';
import { departmentToken, GOVERNANCE_DEPARTMENTS, governanceOptions } from './fanoutGovernance.ts';

const CLIENTS = Number(process.env['FANOUT_CLIENTS'] ?? 10_000);
/** The clients are spread over this many processes (the 2 cores are shared with the server and Kafka). */
const CLIENT_PROCESSES = Number(process.env['FANOUT_CLIENT_PROCESSES'] ?? 2);
const SECONDS = Number(process.env['FANOUT_SECONDS'] ?? 60);
const WARMUP = Number(process.env['FANOUT_WARMUP_SECONDS'] ?? 15);
const CELLS = Number(process.env['FANOUT_CELLS'] ?? 10_000);
const RESOLUTION = Number(process.env['FANOUT_RESOLUTION'] ?? 7);
const FLOOR_SECONDS = Number(process.env['FANOUT_FLOOR_SECONDS'] ?? 20);
const VEHICLES = 2000;
/** FANOUT_GOVERNANCE=1: 60 departments' tokens, judged by the catalogue, deliveries in a ledger. */
const GOVERNANCE = process.env['FANOUT_GOVERNANCE'] === '1';
/** Districts each client subscribes to (default 1). */
const DISTRICTS_PER_CLIENT = Number(process.env['FANOUT_DISTRICTS_PER_CLIENT'] ?? 1);
const OUT_FILE = process.env['FANOUT_OUT'] ?? 'fanout.json';
const TOKEN = 'fanout-bench-token-16';
const SELF = fileURLToPath(import.meta.url);

/** One JSON line on stdout, read by the orchestrator. */
function report(kind: string, body: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ kind, ...body })}\n`);
}

function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Quantiles (ms) of a histogram of 1 ms buckets. */
function histogramQuantiles(histogram: number[]): { p50: number; p95: number; p99: number; max: number } {
  const total = histogram.reduce((a, b) => a + b, 0);
  const at = (q: number) => {
    let seen = 0;
    for (let ms = 0; ms < histogram.length; ms += 1) {
      seen += histogram[ms]!;
      if (seen > q * total) return ms;
    }
    return histogram.length - 1;
  };
  let max = 0;
  for (let ms = 0; ms < histogram.length; ms += 1) if (histogram[ms]! > 0) max = ms;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max };
}

/** Role "server": the map server, sampling its own CPU and memory until stdin closes. */
async function runServer(prefix: string): Promise<void> {
  const governance = GOVERNANCE ? await governanceOptions(loadEnvironment()) : undefined;
  const server = await startMapServer({
    env: loadEnvironment(),
    token: TOKEN,
    ...(governance ? { access: governance.access, ledger: governance.ledger } : {}),
    port: 0,
    topicPrefix: prefix,
    history: false,
    historyMs: 60_000,
    ...(process.env['FANOUT_QUIET_MS']
      ? { fanout: { quietMs: Number(process.env['FANOUT_QUIET_MS']) } }
      : {}),
  });
  report('ready', { port: server.port });
  let last = process.cpuUsage();
  let lastAt = performance.now();
  const samples: Array<{ t: number; cpu: number; rss: number; heap: number; clients: number }> = [];
  const timer = setInterval(() => {
    const now = performance.now();
    const usage = process.cpuUsage(last);
    last = process.cpuUsage();
    const memory = process.memoryUsage();
    samples.push({
      t: Date.now(),
      cpu: (usage.user + usage.system) / 1000 / (now - lastAt), // cores busy
      rss: memory.rss,
      heap: memory.heapUsed,
      clients: server.hub.clientCount,
    });
    lastAt = now;
  }, 1000);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.startsWith('measure')) {
      const from = Number(line.split(' ')[1]);
      const window = samples.filter((s) => s.t >= from);
      const cpu = window.map((s) => s.cpu).sort((a, b) => a - b);
      const text = await server.metrics.registry.metrics();
      const metric = (name: string) =>
        [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
      report('server', {
        cpuCoresMean: cpu.reduce((a, b) => a + b, 0) / Math.max(1, cpu.length),
        cpuCoresP95: quantile(cpu, 0.95),
        rssMiBMax: Math.max(...window.map((s) => s.rss)) / 2 ** 20,
        rssMiBEnd: (window.at(-1)?.rss ?? 0) / 2 ** 20,
        heapMiBMax: Math.max(...window.map((s) => s.heap)) / 2 ** 20,
        clients: window.at(-1)?.clients ?? 0,
        deltasPublished: metric('city_map_deltas_published_total'),
        deltaBytes: metric('city_map_delta_bytes_total'),
        slowClientEvents: metric('city_map_slow_client_events_total'),
        disconnects: metric('city_map_disconnects_total'),
        flushSecondsSum: metric('city_map_flush_duration_seconds_sum'),
        flushCount: metric('city_map_flush_duration_seconds_count'),
      });
    }
  }
  clearInterval(timer);
  await server.close();
  await governance?.stop();
  process.exit(0);
}

/**
 * Role "floor": a bare uWebSockets.js server. The i-th connection is subscribed to one of 8 topics; every
 * second each topic gets one delta-shaped frame of `frameBytes`, stamped with the send time as `t` and `src`.
 */
async function runFloorServer(frameBytes: number): Promise<void> {
  let connections = 0;
  const app = uWS.App().ws('/*', {
    maxBackpressure: 64 * 1024 * 1024,
    open: (ws) => {
      const group = connections % 8;
      connections += 1;
      ws.subscribe(`a${group}`);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) =>
      socket ? resolve(uWS.us_socket_local_port(socket)) : reject(new Error('floor server: listen failed')),
    ),
  );
  report('ready', { port });
  const filler = 'x'.repeat(Math.max(0, frameBytes - 100));
  let seq = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    seq += 1;
    for (let group = 0; group < 8; group += 1) {
      const topic = `a${group}`;
      app.publish(
        topic,
        `{"type":"delta","topic":"${topic}","seq":${seq},"t":${now},"src":${now},"pad":"${filler}"}`,
      );
    }
  }, 1000);
  for await (const _line of createInterface({ input: process.stdin })) {
    // runs until stdin closes
  }
  clearInterval(timer);
  process.exit(0);
}

/** Role "clients": CLIENTS ws connections; latency samples of the deltas received after `measure`. */
async function runClients(port: number, clients: number, offset: number): Promise<void> {
  const districts = loadDistrictBoundaries().districts.map((d) => d.code);
  const sockets: WebSocket[] = [];
  let measuring = false;
  let measureFrom = 0;
  // 1 ms buckets up to 10 s (the last bucket holds anything slower): merged across client processes.
  const histogram = new Uint32Array(10_001);
  const emitHistogram = new Uint32Array(10_001);
  const deliveryHistogram = new Uint32Array(10_001);
  let count = 0;
  let bytes = 0;
  let snapshots = 0;
  let closed = 0;
  let errors = 0;
  const headPattern = /"t":(\d+),"src":(\d+)/;
  const connect = (i: number) =>
    new Promise<void>((resolve) => {
      // No UTF-8 validation of every frame in JS (no native helper is installed): the bench reads only
      // the head of each message, and this process must not be the bottleneck it measures.
      const token = GOVERNANCE ? departmentToken(i) : TOKEN;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
      });
      ws.on('open', () => {
        ws.send(
          JSON.stringify({
            type: 'subscribe',
            layers: ['districts', 'cells'],
            area: {
              districts: Array.from(
                { length: DISTRICTS_PER_CLIENT },
                (_, k) => districts[(i + k) % districts.length],
              ),
            },
            resolution: RESOLUTION,
          }),
        );
        resolve();
      });
      ws.on('message', (data: Buffer) => {
        const now = Date.now();
        // The head of a delta: {"type":"delta","topic":...,"seq":...,"t":...,"src":...
        if (data[9] === 0x64 /* d */) {
          if (!measuring) return;
          const match = headPattern.exec(data.toString('latin1', 0, 160));
          if (match) {
            const src = Number(match[2]);
            histogram[Math.min(10_000, Math.max(0, now - src))]! += 1;
            const emitted = Number(match[1]);
            emitHistogram[Math.min(10_000, Math.max(0, emitted - src))]! += 1;
            deliveryHistogram[Math.min(10_000, Math.max(0, now - emitted))]! += 1;
            count += 1;
          }
          bytes += data.length;
        } else if (data[9] === 0x73 /* s */ && data[10] === 0x6e /* n */) snapshots += 1;
      });
      ws.on('close', () => {
        closed += 1;
      });
      ws.on('error', () => {
        errors += 1;
        resolve();
      });
      sockets.push(ws);
    });
  const started = performance.now();
  for (let i = 0; i < clients; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, clients - i) }, (_, k) => connect(offset + i + k)));
  }
  report('connected', {
    clients: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    seconds: (performance.now() - started) / 1000,
    errors,
  });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.startsWith('measure')) {
      measuring = true;
      measureFrom = Date.now();
      count = 0;
      bytes = 0;
      histogram.fill(0);
      emitHistogram.fill(0);
      deliveryHistogram.fill(0);
    } else if (line.startsWith('stop')) {
      measuring = false;
      const seconds = (Date.now() - measureFrom) / 1000;
      report('clients', {
        open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
        deltasReceived: count,
        seconds,
        bytes,
        snapshots,
        closed,
        errors,
        histogram: [...histogram],
        emitHistogram: [...emitHistogram],
        deliveryHistogram: [...deliveryHistogram],
      });
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  }
}

/** Spawns this file in a role, with a file-descriptor limit for 10 000 sockets. */
function spawnRole(role: string, ...args: string[]): ChildProcess {
  return spawn(
    'bash',
    [
      '-c',
      `ulimit -n $(ulimit -Hn) 2>/dev/null; exec node $FANOUT_NODE_ARGS --import tsx "$0" "$@"`,
      SELF,
      role,
      ...args,
    ],
    { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
}

function nextReport(
  child: ChildProcess,
  kind: string,
  timeoutMs = 300_000,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new Error(`no '${kind}' report within ${timeoutMs} ms`)),
      timeoutMs,
    );
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed['kind'] !== kind) return;
        clearTimeout(timer);
        lines.close();
        resolve(parsed);
      } catch {
        // not a report line
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind}: the child exited with ${code}`)));
  });
}

/** Spawns the client processes (CLIENTS over CLIENT_PROCESSES) against `port` and waits until all are connected. */
async function startClients(port: number): Promise<{
  clientProcesses: ChildProcess[];
  connected: { clients: number; seconds: number; errors: number };
}> {
  const share = Math.ceil(CLIENTS / CLIENT_PROCESSES);
  const clientProcesses = Array.from({ length: CLIENT_PROCESSES }, (_, i) =>
    spawnRole('clients', String(port), String(Math.min(share, CLIENTS - i * share)), String(i * share)),
  );
  const reports: Array<Record<string, unknown>> = [];
  for (const child of clientProcesses) reports.push(await nextReport(child, 'connected', 600_000));
  const connected = {
    clients: reports.reduce((n, r) => n + Number(r['clients']), 0),
    seconds: Math.max(...reports.map((r) => Number(r['seconds']))),
    errors: reports.reduce((n, r) => n + Number(r['errors']), 0),
  };
  return { clientProcesses, connected };
}

/** Ends the measurement of the client processes and merges their reports. */
async function stopClients(clientProcesses: ChildProcess[]) {
  const clientReports = clientProcesses.map((child) => nextReport(child, 'clients'));
  for (const child of clientProcesses) child.stdin!.write('stop\n');
  const perProcess = await Promise.all(clientReports);
  const merge = (field: string) => {
    const sum = new Array<number>(10_001).fill(0);
    for (const r of perProcess) for (const [i, n] of (r[field] as number[]).entries()) sum[i]! += n;
    return sum;
  };
  const seconds = Math.max(...perProcess.map((r) => Number(r['seconds'])));
  const sum = (field: string) => perProcess.reduce((n, r) => n + Number(r[field]), 0);
  return {
    open: sum('open'),
    deltasReceived: sum('deltasReceived'),
    deltasPerSecond: sum('deltasReceived') / seconds,
    mbytesPerSecond: sum('bytes') / seconds / 1e6,
    bytesPerDelta: sum('bytes') / Math.max(1, sum('deltasReceived')),
    snapshots: sum('snapshots'),
    closed: sum('closed'),
    errors: sum('errors'),
    latencyMs: histogramQuantiles(merge('histogram')),
    emitLatencyMs: histogramQuantiles(merge('emitHistogram')),
    deliveryLatencyMs: histogramQuantiles(merge('deliveryHistogram')),
  };
}

/** The delivery floor (see the header): a bare uWS server and fresh client processes, FLOOR_SECONDS measured. */
async function measureFloor(frameBytes: number, log: (line: string) => void) {
  const floorServer = spawnRole('floor', String(Math.round(frameBytes)));
  const { port } = (await nextReport(floorServer, 'ready')) as { port: number };
  const { clientProcesses } = await startClients(port);
  log(`delivery floor: bare uWS server, frames of ${Math.round(frameBytes)} bytes, ${FLOOR_SECONDS} s`);
  await new Promise((r) => setTimeout(r, 3000));
  for (const child of clientProcesses) child.stdin!.write('measure\n');
  await new Promise((r) => setTimeout(r, FLOOR_SECONDS * 1000 + 500));
  const stats = await stopClients(clientProcesses);
  floorServer.stdin!.end();
  return {
    setup: 'bare uWebSockets.js server, 1 frame per client per second, same client processes',
    frameBytes: Math.round(frameBytes),
    deltasPerSecond: stats.deltasPerSecond,
    latencyMs: stats.latencyMs,
  };
}

async function orchestrate(): Promise<void> {
  const env = loadEnvironment();
  const prefix = `bench.fanout.${Date.now().toString(36)}.`;
  const topic = internalTopic('aggregates', prefix);
  const kafka = createKafka(env, 'bench-fanout');
  const producer = kafka.producer({ 'linger.ms': 2 });
  await producer.connect();
  const log = (line: string) => process.stderr.write(`[bench:fanout] ${line}\n`);

  const server = spawnRole('server', prefix);
  const { port } = (await nextReport(server, 'ready')) as { port: number };
  log(`map server on port ${port}; connecting ${CLIENTS} clients from ${CLIENT_PROCESSES} processes`);
  const { clientProcesses, connected } = await startClients(port);
  log(`connected: ${JSON.stringify(connected)}`);

  const city = new SyntheticCity({ vehicles: VEHICLES, cells: CELLS, resolution: 9, partitions: 2, seed: 5 });
  let ticks = 0;
  let publishMs = 0;
  const publishTick = async () => {
    const started = performance.now();
    await publishAggregates(producer, topic, city.tick(Date.now()));
    publishMs += performance.now() - started;
    ticks += 1;
  };
  const runFor = async (seconds: number) => {
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      const next = Date.now() + 1000;
      await publishTick();
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  };
  log(`warm-up ${WARMUP} s`);
  await runFor(WARMUP);
  const measureFrom = Date.now();
  for (const child of clientProcesses) child.stdin!.write('measure\n');
  log(`measuring ${SECONDS} s at 1 Hz`);
  await runFor(SECONDS);
  await new Promise((r) => setTimeout(r, 1500)); // let the last tick arrive
  const serverReport = nextReport(server, 'server');
  server.stdin!.write(`measure ${measureFrom}\n`);
  const serverStats = await serverReport;
  const clientStats = await stopClients(clientProcesses);
  const serverExited = new Promise((resolve) => server.once('exit', resolve));
  server.stdin!.end();
  await serverExited; // before deleting its topic, so that it does not log a missing topic
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, internalTopic('alerts', prefix)] }).catch(() => {});
  await admin.disconnect();

  const latency = clientStats.latencyMs;
  const floor =
    process.env['FANOUT_FLOOR'] === '0'
      ? undefined
      : await measureFloor((clientStats.mbytesPerSecond * 1e6) / Math.max(1, clientStats.open), log);
  const result = {
    benchmark: 'fanout',
    command: 'npm run bench:fanout',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadavg: loadavg(),
    },
    setup: {
      clients: CLIENTS,
      clientProcesses: CLIENT_PROCESSES,
      subscription: `layers districts + cells (H3 res ${RESOLUTION}) of ${DISTRICTS_PER_CLIENT} district(s) per client, round robin over 8`,
      governance: GOVERNANCE
        ? `${GOVERNANCE_DEPARTMENTS} departments' tokens judged by the catalogue, deliveries in an exchange ledger`
        : 'none: every client has the operator token',
      engineRate: '1 tick per second: 24 district windows, 6 watermarks, 10 000 H3 cells, 2 000 vehicles',
      cells: CELLS,
      vehicles: VEHICLES,
      tickMs: 250,
      measuredSeconds: SECONDS,
      warmupSeconds: WARMUP,
      latency:
        'client receive time minus the Kafka timestamp of the oldest aggregate in the delta (engine emit)',
    },
    connect: connected,
    latencyMs: latency,
    engineToServerEmitMs: clientStats.emitLatencyMs,
    serverEmitToClientMs: clientStats.deliveryLatencyMs,
    deliveryFloorMs: floor,
    throughput: {
      deltasPerSecond: clientStats['deltasPerSecond'],
      mbytesPerSecond: clientStats['mbytesPerSecond'],
      deltasReceived: clientStats['deltasReceived'],
    },
    server: {
      ...serverStats,
      flushMsMean:
        (Number(serverStats['flushSecondsSum']) * 1000) / Math.max(1, Number(serverStats['flushCount'])),
    },
    clients: clientStats,
    engineStandIn: { ticks, publishMsMean: publishMs / Math.max(1, ticks) },
    goal: { p99BelowMs: 250, met: latency.p99 < 250 },
  };
  const out = join(PROJECT_ROOT, 'bench', 'results', OUT_FILE);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `fanout: ${CLIENTS} clients, deltas ${Math.round(clientStats.deltasPerSecond)}/s, ` +
      `latency p50 ${latency.p50} ms p95 ${latency.p95} ms p99 ${latency.p99} ms max ${latency.max} ms ` +
      `(engine -> server emit p50 ${clientStats.emitLatencyMs.p50} ms p99 ${clientStats.emitLatencyMs.p99} ms, ` +
      `server emit -> client p50 ${clientStats.deliveryLatencyMs.p50} ms p99 ${clientStats.deliveryLatencyMs.p99} ms; ` +
      (floor
        ? `delivery floor, bare uWS to the same clients: p50 ${floor.latencyMs.p50} ms p99 ${floor.latencyMs.p99} ms); `
        : '); ') +
      `server CPU ${Number(serverStats['cpuCoresMean']).toFixed(2)} cores, RSS max ${Number(serverStats['rssMiBMax']).toFixed(0)} MiB ` +
      `(goal p99 < 250 ms: ${result.goal.met ? 'met' : 'NOT met'}) -> ${out}\n`,
  );
}

const [role, arg] = process.argv.slice(2);
if (role === 'server') await runServer(arg!);
else if (role === 'floor') await runFloorServer(Number(arg));
else if (role === 'clients') await runClients(Number(arg), Number(process.argv[4]), Number(process.argv[5]));
else await orchestrate();
