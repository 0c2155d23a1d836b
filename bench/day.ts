/**
 * bench:day: replays the simulated city's whole day (20 million events with the daily curve) through the
 * real path, Kafka -> engine -> ClickHouse, as fast as it goes on this machine. End to end is measured twice:
 * until every window is in city.district_minute (checked against the simulator's truth), and until the
 * finalizer has also written the joined layer (district_pulse, incident_impact) up to the final watermark.
 * The event-to-ClickHouse latency at a live rate of 10x the day's average is measured on an engine started
 * fresh on an empty store before the replay, and after the day (joined layer complete) on the engine that
 * replayed it.
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
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { publishSimulation } from '../engine/simulator/publishSimulation.ts';
import { DAILY_EVENTS, recentLike } from '../engine/simulator/simulationOptions.ts';
import { machineFacts, openBenchStack, processUsage } from './benchStack.ts';
import { type BenchEngineOptions, startBenchEngine, threadBusy } from './dayEngine.ts';
import { freshLatency, type LatencyFigures, measureLatency } from './dayLatency.ts';
import { busyPerThread, measureJoinedLayer, waitForWindows, windowMismatches } from './dayReplay.ts';

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
  const live = { seed: seed + 1, rate: liveRate, seconds: latencySeconds };
  const fresh =
    latencySeconds > 0 ? await freshLatency({ ...live, partitions, engine: engineOptions }, say) : undefined;

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
  const { late, stalled } = await waitForWindows(count, db, expected, STALL_SECONDS, say);
  const finishedAt = performance.now();
  const catchUpSeconds = (finishedAt - publishedAt) / 1000;
  const threads = busyPerThread(busyAtPublish, await threadBusy(engine.metricsUrl()), catchUpSeconds);
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

  const mismatches = await windowMismatches(clickhouse, db, truth);
  const dead = await count(`SELECT count() AS n FROM ${db}.dead_letters FINAL`);
  say(
    `end to end: ${seconds.toFixed(1)} s, ${Math.round(expected / seconds).toLocaleString('en')} events/s; exact: ${mismatches === 0 && late === 0 && !stalled}${late > 0 ? ` (${late} late)` : ''}`,
  );

  // The finalizer joins the day's incidents after the windows are in; the live latency is measured once it
  // has caught up, so that it shows what the stored day costs, not the replay's backlog.
  const lastWindowStart = truth.windows.reduce((last, w) => Math.max(last, w.window_start), 0);
  const joinedLayer = await measureJoinedLayer(
    engine,
    clickhousePid,
    { replayStarted: started, windowsDone: finishedAt, lastWindowStart },
    STALL_SECONDS,
    say,
  );

  // Latency at 10x the day's average, now that the store holds the day.
  let afterDay: LatencyFigures | undefined;
  if (latencySeconds > 0) {
    say(`latency after the day: live simulator at ${Math.round(liveRate)} events/s for ${latencySeconds} s`);
    afterDay = await measureLatency(
      env,
      clickhouse,
      { id, ...live },
      { engineMetricsUrl: engine.metricsUrl(), enginePid: engine.process.pid, clickhousePid },
    );
    say(
      `latency after the day: p50 ${afterDay.p50Ms} ms, p99 ${afterDay.p99Ms} ms (${afterDay.probes} probes); during it ${JSON.stringify(afterDay.during)}`,
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
      joinedLayer,
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
