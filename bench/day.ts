/**
 * bench:day: replays the simulated city's whole day (20 million events with the daily curve) through the
 * real path, Kafka -> engine -> ClickHouse, as fast as it goes on this machine, then measures the
 * event-to-ClickHouse latency at a live rate of 10x the day's average.
 *
 *   npm run bench:day                          # the full day: 20 000 000 events
 *   npm run bench:day -- --events 1000000      # a short run
 *   npm run bench:day -- --events 1000000 --profile-engine /tmp/prof   # with V8 CPU profiles of the engine
 *   npm run bench:day -- --events 2000000 --latency-seconds 0          # the replay only (for A/B pairs)
 *
 * Writes bench/results/day.json (the command, the machine, every figure). Needs the local stack
 * (`city-ops stack up`). The engine runs as its own process (`city-ops run`, as in production) so its CPU
 * and memory are measured apart from the publisher, the broker and ClickHouse.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { createKafka } from '../engine/connectors/kafka/client.ts';
import { streamTopic } from '../engine/contract/topics.ts';
import { ENGINE_THREADPOOL_SIZE } from '../engine/pipeline/streamEngine.ts';
import { publishSimulation } from '../engine/simulator/publishSimulation.ts';
import { DAILY_EVENTS, recentLike } from '../engine/simulator/simulationOptions.ts';
import { machineFacts, openBenchStack, processUsage } from './benchStack.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: String(DAILY_EVENTS) },
    seed: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
    workers: { type: 'string', default: '2' },
    'latency-seconds': { type: 'string', default: '60' },
    'keep-data': { type: 'boolean', default: false },
    /** The result file under bench/results (e.g. day-workers1.json for a --workers 1 run). */
    out: { type: 'string', default: 'day.json' },
    /** Writes V8 CPU profiles of the engine (main thread and each worker) into this folder. */
    'profile-engine': { type: 'string' },
    /** One more `city-ops run` flag for the engine, e.g. `--engine-arg=--batch-size=5000` (repeatable). */
    'engine-arg': { type: 'string', multiple: true, default: [] },
    /** One more Node.js flag for the engine process, e.g. `--engine-node-arg=--max-semi-space-size=64` (repeatable). */
    'engine-node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const events = Number(values.events);
const seed = Number(values.seed);
const partitions = Number(values.partitions);
const latencySeconds = Number(values['latency-seconds']);
const liveRate = (10 * DAILY_EVENTS) / 86_400;
/** After publishing, the wait for ClickHouse ends as a failure when nothing lands for this long. */
const STALL_SECONDS = 120;
const command = `npm run bench:day${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const say = (line: string) =>
  process.stderr.write(`[bench:day ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const { id, env, clickhouse, count, kafkaPid, clickhousePid, drop } = await openBenchStack(
    'bench-day',
    partitions,
    say,
  );
  const db = env.CLICKHOUSE_DATABASE;

  const kafkaBefore = processUsage(kafkaPid);
  const clickhouseBefore = processUsage(clickhousePid);
  const publisherBefore = process.cpuUsage();

  // The engine, as its own process.
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  const engine: ChildProcess = spawn(
    process.execPath,
    [
      ...(values['profile-engine'] ? ['--cpu-prof', `--cpu-prof-dir=${values['profile-engine']}`] : []),
      ...values['engine-node-arg']!,
      join(PROJECT_ROOT, 'bin', 'city-ops.mjs'),
      'run',
      '--group-id',
      `bench-day-${id}`,
      '--instance-id',
      `bench-day-${id}`,
      '--workers',
      values.workers!,
      '--metrics-port',
      '0',
      // The engine's default idle timeout (10 s). It was 3 s here, to end each run sooner; a profiled run
      // (--profile-engine) then showed the publisher's producer holding one partition's messages for more
      // than 3 s while it delivered the others', so that partition's watermark moved on and 241 of its
      // records were late. The partitions of a replay at full speed on a saturated machine are that uneven.
      ...values['engine-arg']!,
    ],
    {
      env: {
        ...process.env,
        CITY_OPS_TOPIC_PREFIX: env.CITY_OPS_TOPIC_PREFIX,
        CLICKHOUSE_DATABASE: db,
        CLICKHOUSE_RESTRICTED_DATABASE: env.CLICKHOUSE_RESTRICTED_DATABASE,
        LOG_LEVEL: process.env['BENCH_ENGINE_LOG_LEVEL'] ?? 'warn',
        UV_THREADPOOL_SIZE: String(ENGINE_THREADPOOL_SIZE),
      },
      // Its warnings and errors show in the bench's output (a stalled run says why).
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  let metricsUrl: string | undefined;
  engine.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    metricsUrl ??= /metrics and health on (http:\/\/\S+\/metrics)/.exec(chunk.toString())?.[1];
  });
  // The engine does not outlive the bench (an error, Ctrl-C or `kill` of the bench alone left it running,
  // with its CPU in the next run's figures).
  process.once('exit', () => {
    if (engine.exitCode === null) engine.kill('SIGTERM');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  await sleep(3_000);

  say(
    `replaying ${events.toLocaleString('en')} events of seed ${seed}'s day into ${partitions} partitions per topic`,
  );
  const started = performance.now();
  let publishedAt = 0;
  const report = await publishSimulation(
    { seed, events, start: recentLike('2026-11-26T00:00:00+08:00'), duration: '24h', rate: 'max' },
    {
      env,
      truth: true,
      onProgress: (p) =>
        say(`published ${p.sent.toLocaleString('en')} (${Math.round(p.rate).toLocaleString('en')}/s)`),
    },
  );
  publishedAt = performance.now();
  const busyAtPublish = await threadBusy(metricsUrl);
  const truth = report.truth;
  if (!truth) throw new Error('the publisher returned no truth');
  say(
    `published ${report.sent.toLocaleString('en')} messages in ${report.seconds.toFixed(1)} s (${Math.round(report.rate).toLocaleString('en')}/s); waiting for ClickHouse`,
  );
  const expected = truth.totals.accepted;
  // Done when every accepted event is either counted in a window or recorded as late (a late event is
  // never in district_minute, so waiting for the total alone would wait forever). No progress for
  // STALL_SECONDS ends the wait too, as a failed run.
  let landed = 0;
  let late = 0;
  let lastSay = 0;
  let lastProgress = performance.now();
  let stalled = false;
  for (;;) {
    const [nowLanded, nowLate] = await Promise.all([
      count(`SELECT sum(events) AS n FROM ${db}.district_minute`),
      count(`SELECT count() AS n FROM ${db}.late_events FINAL`),
    ]);
    const now = performance.now();
    if (nowLanded !== landed || nowLate !== late) lastProgress = now;
    landed = nowLanded;
    late = nowLate;
    if (landed + late >= expected) break;
    if (now - lastProgress > STALL_SECONDS * 1000) {
      stalled = true;
      say(`no progress for ${STALL_SECONDS} s: stopping the wait (the run failed)`);
      break;
    }
    if (now - lastSay > 5_000) {
      say(
        `${landed.toLocaleString('en')} of ${expected.toLocaleString('en')} events in city.district_minute` +
          (late > 0 ? `, ${late.toLocaleString('en')} late (city.late_events)` : ''),
      );
      lastSay = now;
    }
    await sleep(1_000);
  }
  const finishedAt = performance.now();
  const busyAtEnd = await threadBusy(metricsUrl);
  const catchUpSeconds = (finishedAt - publishedAt) / 1000;
  const threads = Object.fromEntries(
    Object.entries(busyAtEnd).map(([thread, busy]) => {
      const seconds = busy - (busyAtPublish[thread] ?? 0);
      return [
        thread,
        { busySeconds: round1(seconds), percent: Math.round((100 * seconds) / catchUpSeconds) },
      ];
    }),
  );
  say(
    `catch-up, busy per engine thread: ${Object.entries(threads)
      .map(([t, b]) => `${t} ${b.percent}%`)
      .join(', ')}`,
  );
  const engineUsage = processUsage(engine.pid!);
  const kafkaUsage = processUsage(kafkaPid);
  const clickhouseUsage = processUsage(clickhousePid);
  const publisherCpu = process.cpuUsage(publisherBefore);
  const seconds = (finishedAt - started) / 1000;

  // Exactness: every window equals the truth.
  const rows = await (
    await clickhouse.query({
      query: `SELECT stream, district, toUInt64(window_start) * 1000 AS ws, events FROM ${db}.district_minute`,
      format: 'JSONEachRow',
    })
  ).json<{ stream: string; district: string; ws: string; events: string }>();
  const actual = new Map(rows.map((r) => [`${r.stream}|${r.district}|${r.ws}`, Number(r.events)]));
  let mismatches = 0;
  for (const w of truth.windows)
    if (actual.get(`${w.stream}|${w.district}|${w.window_start}`) !== w.events) mismatches++;
  mismatches += Math.max(0, actual.size - truth.windows.length);
  const dead = await count(`SELECT count() AS n FROM ${db}.dead_letters FINAL`);
  say(
    `end to end: ${seconds.toFixed(1)} s, ${Math.round(expected / seconds).toLocaleString('en')} events/s; exact: ${mismatches === 0 && late === 0 && !stalled}${late > 0 ? ` (${late} late)` : ''}`,
  );

  // Latency at 10x the day's average: probe records timestamped at send, polled in ClickHouse.
  say(
    `latency: live simulator at ${Math.round(liveRate)} events/s for ${latencySeconds} s, with timed probes`,
  );
  const live = new AbortController();
  const livePublishing = publishSimulation(
    { seed: seed + 1, live: true, rate: liveRate },
    { env, signal: live.signal },
  );
  const producer = createKafka(env, 'bench-probe').producer({ 'linger.ms': 0 });
  await producer.connect();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const probeStart = Date.now();
  const probeEnd = probeStart + latencySeconds * 1000;
  let n = 0;
  const poller = (async () => {
    // Until every probe is seen, or 15 s after the last one was sent.
    while (Date.now() < probeEnd + 15_000) {
      const seen = await (
        await clickhouse.query({
          // Bounded by event time (the table's sort key leads with it), so each poll reads only the
          // last minutes, not the whole replayed day.
          query: `SELECT id FROM ${db}.transport_atomic WHERE ts >= toDateTime(${Math.floor(probeStart / 1000) - 60}) AND vehicle = 'bench-probe'`,
          format: 'JSONEachRow',
        })
      ).json<{ id: string }>();
      const now = Date.now();
      for (const { id: probe } of seen) {
        const at = sentAt.get(probe);
        if (at !== undefined) {
          latencies.push(now - at);
          sentAt.delete(probe);
        }
      }
      if (Date.now() > probeEnd && sentAt.size === 0) break;
      await sleep(50);
    }
  })();
  while (Date.now() < probeEnd) {
    const probe = `probe-${id}-${n++}`;
    const ts = Date.now();
    sentAt.set(probe, ts);
    await producer.send({
      topic: streamTopic('transport', env.CITY_OPS_TOPIC_PREFIX),
      messages: [
        {
          key: 'bench-probe',
          value: JSON.stringify({
            id: probe,
            ts,
            vehicle: 'bench-probe',
            mode: 'other',
            lat: 22.54,
            lon: 114.05,
          }),
        },
      ],
    });
    await sleep(100);
  }
  await poller;
  live.abort();
  await livePublishing.catch(() => {});
  await producer.disconnect();
  latencies.sort((a, b) => a - b);
  say(
    `latency over ${latencies.length} probes: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`,
  );

  engine.kill('SIGTERM');
  await new Promise((r) => engine.once('exit', r));
  const result = {
    command,
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: {
      events,
      seed,
      partitions,
      workers: Number(values.workers),
      day: `${recentLike('2026-11-26T00:00:00+08:00').slice(0, 10)} (Asia/Shanghai, a Thursday), daily curve`,
    },
    goal: { endToEndSeconds: 100, eventsPerSecond: 200_000 },
    replay: {
      messagesPublished: report.sent,
      acceptedEvents: expected,
      deadLetters: { expected: truth.totals.invalid, found: dead },
      publishSeconds: Number(report.seconds.toFixed(1)),
      publishRate: Math.round(report.rate),
      engineCatchUpAfterPublishSeconds: round1(catchUpSeconds),
      catchUpThreads: {
        what: 'time each engine thread was busy from the end of publishing until every window was in ClickHouse (the last idle timeout, 10 s, included); city_ops_engine_thread_busy_seconds',
        ...threads,
      },
      endToEndSeconds: Number(seconds.toFixed(1)),
      endToEndEventsPerSecond: Math.round(expected / seconds),
      exact: mismatches === 0 && late === 0 && !stalled && dead === truth.totals.invalid,
      lateEvents: late,
      stalled,
      windowMismatches: mismatches,
      windows: truth.windows.length,
    },
    processes: {
      engine: {
        cpuSeconds: engineUsage.cpuSeconds,
        cpuPercentOfOneCore: Math.round((100 * engineUsage.cpuSeconds) / seconds),
        peakRssMb: Math.round(engineUsage.peakRssMb),
      },
      publisher: {
        cpuSeconds: Number(((publisherCpu.user + publisherCpu.system) / 1e6).toFixed(1)),
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      },
      kafka: {
        cpuSeconds: Number((kafkaUsage.cpuSeconds - kafkaBefore.cpuSeconds).toFixed(1)),
        rssMb: Math.round(kafkaUsage.rssMb),
      },
      clickhouse: {
        cpuSeconds: Number((clickhouseUsage.cpuSeconds - clickhouseBefore.cpuSeconds).toFixed(1)),
        rssMb: Math.round(clickhouseUsage.rssMb),
      },
    },
    latency: {
      what: 'a probe record timestamped when sent, until it is readable in city.transport_atomic (polled every 50 ms)',
      liveRateEventsPerSecond: Math.round(liveRate),
      probes: latencies.length,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1] ?? null,
    },
  };
  const file = join(PROJECT_ROOT, 'bench', 'results', values.out!);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  say(`wrote ${file}`);
  process.stdout.write(
    `${JSON.stringify(result.replay)}\n${JSON.stringify(result.processes)}\n${JSON.stringify(result.latency)}\n`,
  );

  if (values['keep-data']) await clickhouse.close();
  else await drop();
}

function round1(x: number): number {
  return Number(x.toFixed(1));
}

/** The engine's busy seconds per thread, from its /metrics (empty when it cannot be read). */
async function threadBusy(url: string | undefined): Promise<Record<string, number>> {
  if (!url) return {};
  try {
    const text = await (await fetch(url)).text();
    const busy: Record<string, number> = {};
    for (const m of text.matchAll(/^city_ops_engine_thread_busy_seconds\{thread="([^"]+)"\} (\S+)$/gm))
      busy[m[1]!] = Number(m[2]);
    return busy;
  } catch {
    return {};
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
