/**
 * bench:day: replays the simulated city's whole day (20 million events with the daily curve) through the
 * real path, Kafka -> engine -> ClickHouse, as fast as it goes on this machine. The event-to-ClickHouse
 * latency at a live rate of 10x the day's average is measured twice: on an engine started fresh on an
 * empty store before the replay, and after the day on the engine that replayed it.
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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { publishSimulation } from '../engine/simulator/publishSimulation.ts';
import { DAILY_EVENTS, recentLike } from '../engine/simulator/simulationOptions.ts';
import { machineFacts, openBenchStack, processUsage } from './benchStack.ts';
import { type BenchEngineOptions, startBenchEngine, threadBusy } from './dayEngine.ts';
import { type LatencyFigures, measureLatency } from './dayLatency.ts';

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
const engineOptions: BenchEngineOptions = {
  workers: values.workers!,
  profileDir: values['profile-engine'],
  engineArgs: values['engine-arg']!,
  nodeArgs: values['engine-node-arg']!,
};
const command = `npm run bench:day${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const say = (line: string) =>
  process.stderr.write(`[bench:day ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  const { id, env, clickhouse, count, kafkaPid, clickhousePid, drop } = await openBenchStack(
    'bench-day',
    partitions,
    say,
  );
  const db = env.CLICKHOUSE_DATABASE;
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const fresh = latencySeconds > 0 ? await freshLatency() : undefined;

  const kafkaBefore = processUsage(kafkaPid);
  const clickhouseBefore = processUsage(clickhousePid);
  const publisherBefore = process.cpuUsage();
  const engine = await startBenchEngine(env, id, engineOptions);

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
  const busyAtPublish = await threadBusy(engine.metricsUrl());
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
  const busyAtEnd = await threadBusy(engine.metricsUrl());
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
  const engineUsage = processUsage(engine.process.pid!);
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

  // Latency at 10x the day's average, now that the store holds the day.
  let afterDay: LatencyFigures | undefined;
  if (latencySeconds > 0) {
    say(`latency after the day: live simulator at ${Math.round(liveRate)} events/s for ${latencySeconds} s`);
    afterDay = await measureLatency(env, clickhouse, {
      id,
      seed: seed + 1,
      rate: liveRate,
      seconds: latencySeconds,
    });
    say(
      `latency after the day: p50 ${afterDay.p50Ms} ms, p99 ${afterDay.p99Ms} ms (${afterDay.probes} probes)`,
    );
  }
  await engine.stop();
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
    latency: { freshStart: fresh ?? null, afterTheDay: afterDay ?? null },
  };
  const file = resolve(PROJECT_ROOT, 'bench', 'results', values.out!);
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

/**
 * The latency on an engine started fresh on an empty store (topics and databases of its own), before the
 * day is replayed: the same probes as after the day, so the two show whether the cost grows with history.
 */
async function freshLatency(): Promise<LatencyFigures> {
  const stack = await openBenchStack('bench-day-fresh', partitions, say);
  const engine = await startBenchEngine(stack.env, stack.id, engineOptions);
  say(`latency on a fresh start: live simulator at ${Math.round(liveRate)} events/s for ${latencySeconds} s`);
  const figures = await measureLatency(stack.env, stack.clickhouse, {
    id: stack.id,
    seed: seed + 1,
    rate: liveRate,
    seconds: latencySeconds,
  });
  say(
    `latency on a fresh start: p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (${figures.probes} probes)`,
  );
  await engine.stop();
  await stack.drop();
  return figures;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
