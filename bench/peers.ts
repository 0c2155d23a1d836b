/**
 * bench:peers: the same simulated messages (1% duplicates, 0.5% bad records of every kind) through three
 * pipelines, each alone on the machine in turn, on the same broker and ClickHouse:
 *   1. ClickHouse 18.16's Kafka table engine with materialized views (bench/peers/clickhouseKafka.ts);
 *   2. Kafka Streams 4.1.1 with exactly_once_v2 (bench/peers/kafka-streams, run by kafkaStreamsPeer.ts);
 *   3. city-ops run.
 * Each counts events per stream, district and minute; the bench compares each result with the simulator's
 * truth and reports CPU per event by process, wall time, memory and exactness.
 *
 *   npm run bench:peers                         # 1 000 000 events
 *   npm run bench:peers -- --events 2000000
 *   npm run bench:peers -- --only city-ops,kafka-streams
 *
 * Writes bench/results/peers.json and bench/results/peers.svg. Needs the local stack (`city-ops stack up`),
 * Java 17 and Maven (the Kafka Streams peer's jars come from Maven Central, as the broker's do).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { createKafka, ensureTopics } from '../engine/connectors/kafka/client.ts';
import { allTopics } from '../engine/contract/topics.ts';
import { publishSimulation } from '../engine/simulator/publishSimulation.ts';
import type { SimulationTruthFile } from '../engine/simulator/SimulationTruth.ts';
import { recentLike } from '../engine/simulator/simulationOptions.ts';
import { stackEnvironment } from '../engine/stack/localStack.ts';
import { type BenchStack, machineFacts, openBenchStack } from './benchStack.ts';
import { peersChart } from './peers/chart.ts';
import { cityOpsPeer } from './peers/cityOpsPeer.ts';
import { clickhouseKafkaPeer } from './peers/clickhouseKafka.ts';
import { exactness } from './peers/exactness.ts';
import { kafkaStreamsPeer } from './peers/kafkaStreamsPeer.ts';
import { measurePeer, type PeerRun } from './peers/peerRun.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
    /** Some of clickhouse-kafka, kafka-streams, city-ops (comma-separated). */
    only: { type: 'string' },
    /** The result file under bench/results; the chart goes beside it (.svg). */
    out: { type: 'string', default: 'peers.json' },
  },
});
const events = Number(values.events);
const seed = Number(values.seed);
const command = `npm run bench:peers${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const say = (line: string) =>
  process.stderr.write(`[bench:peers ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
/** A pipeline's result is complete when it has read everything and its result has not changed for this long. */
const QUIET_SECONDS = 10;
const BAD_RATIO = 0.005;
const DUPLICATE_RATIO = 0.01;
const TIMEOUT_SECONDS = 600;

async function main(): Promise<void> {
  const stack = await openBenchStack('bench-peers', Number(values.partitions), say);
  const stackDir = stackEnvironment(() => {}).CITY_OPS_STACK_DIR;
  const work = join(stackDir, 'bench-peers');
  // ClickHouse's Kafka engine runs twice: on the messages every pipeline gets, and on a copy without the
  // bad records (same seed and duplicates), for a CPU figure if the first run cannot give one.
  const validPrefix = `${stack.env.CITY_OPS_TOPIC_PREFIX}valid.`;
  const all = [
    clickhouseKafkaPeer(stack, stackDir, {
      name: 'clickhouse-kafka',
      title: 'ClickHouse 18.16 Kafka engine + materialized views',
      topicPrefix: stack.env.CITY_OPS_TOPIC_PREFIX,
    }),
    clickhouseKafkaPeer(stack, stackDir, {
      name: 'clickhouse-kafka-valid-only',
      title: 'the same, on a copy of the messages without the bad records',
      topicPrefix: validPrefix,
    }),
    kafkaStreamsPeer(stack, stackDir, work),
    cityOpsPeer(stack),
  ];
  const chosen = values.only?.split(',') ?? all.map((p) => p.name);
  const peers = all.filter((p) => chosen.includes(p.name));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  for (const peer of peers) {
    say(`${peer.name}: preparing`);
    await peer.prepare();
  }
  say(
    `publishing ${events.toLocaleString('en')} events of seed ${seed} with 1% duplicates, 0.5% bad records`,
  );
  const report = await publish(stack, stack.env.CITY_OPS_TOPIC_PREFIX, BAD_RATIO);
  const truth = report.truth;
  if (!truth) throw new Error('the publisher returned no truth');
  say(`published ${report.sent.toLocaleString('en')} messages in ${report.seconds.toFixed(1)} s`);
  const valid = peers.some((p) => p.name === 'clickhouse-kafka-valid-only')
    ? await publishValidCopy(stack, validPrefix)
    : undefined;
  const results = [];
  for (const peer of peers) {
    const input = peer.name === 'clickhouse-kafka-valid-only' ? valid! : { truth, messages: report.sent };
    results.push(await runOne(peer, stack, input.truth, input.messages));
  }
  const result = {
    command,
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: {
      events,
      seed,
      partitions: Number(values.partitions),
      badRatio: BAD_RATIO,
      duplicateRatio: DUPLICATE_RATIO,
    },
    published: {
      messages: report.sent,
      accepted: truth.totals.accepted,
      duplicates: truth.totals.duplicates,
      invalid: truth.totals.invalid,
      windows: truth.windows.length,
    },
    what: {
      cpu: 'CPU seconds of each process from the pipeline start until its result last changed; the broker and ClickHouse count for every pipeline that uses them',
      exactlyCountedEvent: 'an event of a (stream, district, minute) window whose count equals the truth',
      wallSeconds: 'from the pipeline start (process start included) until its result last changed',
    },
    pipelines: results,
    goals: goals(results),
  };
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  const file = resolve(PROJECT_ROOT, 'bench', 'results', values.out!);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const chart = peersChart(
    results.map((r) => ({
      name: r.failure ? `${r.name} (stopped)` : r.name,
      cpuMicros: r.cpuMicrosPerEvent.byProcess,
      exactShare: r.exactness.equal / Math.max(1, r.exactness.windows + r.exactness.extraWindows),
    })),
    `${command}, ${report.sent.toLocaleString('en')} messages, ${result.date.slice(0, 10)}`,
  );
  writeFileSync(file.replace(/\.json$/, '.svg'), chart);
  say(`wrote ${file} and its chart`);
  process.stdout.write(`${JSON.stringify(result.goals)}\n`);
  await stack.drop();
  await dropRunTopics(stack);
}

/**
 * What `stack.drop` does not know: the copy without bad records, Kafka Streams' output and its internal
 * topics (repartition, changelogs), all named after the run.
 */
async function dropRunTopics(stack: BenchStack): Promise<void> {
  const admin = createKafka(stack.env, 'bench-peers-cleanup').admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter(
    (t) => t.startsWith(stack.env.CITY_OPS_TOPIC_PREFIX) || t.startsWith(`bench-peers-ks-${stack.id}-`),
  );
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
}

function publish(stack: BenchStack, topicPrefix: string, badRatio: number) {
  return publishSimulation(
    {
      seed,
      events,
      start: recentLike('2026-11-26T00:00:00+08:00'),
      duration: '24h',
      rate: 'max',
      badRatio,
      duplicateRatio: DUPLICATE_RATIO,
    },
    {
      env: stack.env,
      topicPrefix,
      truth: true,
      onProgress: (p) => say(`published ${p.sent.toLocaleString('en')}`),
    },
  );
}

async function publishValidCopy(stack: BenchStack, prefix: string) {
  await ensureTopics(stack.env, allTopics(prefix), Number(values.partitions));
  say('publishing the copy without bad records, for clickhouse-kafka-valid-only');
  const report = await publish(stack, prefix, 0);
  if (!report.truth) throw new Error('the publisher returned no truth');
  return { truth: report.truth, messages: report.sent };
}

async function runOne(peer: PeerRun, stack: BenchStack, truth: SimulationTruthFile, messages: number) {
  await settle(stack);
  say(`${peer.name}: running alone`);
  const admin = createKafka(stack.env, 'bench-peers-lag').admin();
  await admin.connect();
  const m = await measurePeer(peer, truth.totals.accepted, {
    admin,
    quietSeconds: QUIET_SECONDS,
    timeoutSeconds: TIMEOUT_SECONDS,
    say,
  });
  await admin.disconnect();
  // After a failure, stopping comes first: it brings back what the pipeline crashed.
  if (m.failure) await peer.stop();
  const windows = await peer.windows();
  const bad = await peer.badRecords();
  if (!m.failure) await peer.stop();
  await peer.drop?.();
  const exact = exactness(truth, windows);
  const cpu = Object.values(m.cpuSeconds).reduce((a, b) => a + b, 0);
  const micros = (s: number, n: number) => (n > 0 ? Math.round((s * 1e7) / n) / 10 : null);
  say(
    `${peer.name}: ${m.wallSeconds} s, ${cpu.toFixed(1)} CPU-s; windows equal ${exact.equal} of ${exact.windows}, off ${exact.off}`,
  );
  return {
    name: peer.name,
    title: peer.title,
    wallSeconds: m.wallSeconds,
    incomplete: m.incomplete,
    failure: m.failure,
    counted: m.counted,
    cpuSeconds: { ...m.cpuSeconds, total: Math.round(cpu * 100) / 100 },
    cpuMicrosPerEvent: {
      byProcess: Object.fromEntries(
        Object.entries(m.cpuSeconds).map(([k, s]) => [k, micros(s, messages) ?? 0]),
      ),
      perPublishedMessage: micros(cpu, messages),
      perExactlyCountedEvent: micros(cpu, exact.exactlyCountedEvents),
    },
    memoryMb: m.memoryMb,
    exactness: exact,
    badRecords: {
      published: truth.totals.invalid,
      rejectedWithReason:
        bad.rejected === null ? null : Object.values(bad.rejected).reduce((a, b) => a + b, 0),
      byReason: bad.rejected,
      ...(bad.landed === undefined ? {} : { rowsLanded: bad.landed }),
    },
  };
}

/** Lets the previous pipeline's background work (ClickHouse merges) end before the next one starts. */
async function settle(stack: BenchStack): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await stack.count('SELECT count() AS n FROM system.merges')) === 0) break;
    await sleep(1_000);
  }
  await sleep(3_000);
}

type PeerResult = Awaited<ReturnType<typeof runOne>>;

function goals(results: readonly PeerResult[]) {
  const perExact = (name: string) =>
    results.find((r) => r.name === name)?.cpuMicrosPerEvent.perExactlyCountedEvent ?? null;
  const ours = perExact('city-ops');
  const streams = perExact('kafka-streams');
  // The run on the same messages, unless it failed; then the one on the copy without bad records.
  const first = results.find((r) => r.name === 'clickhouse-kafka');
  const clickhouseRun = first && !first.failure ? first.name : 'clickhouse-kafka-valid-only';
  const clickhouse = perExact(clickhouseRun);
  const exactOnes = results
    .filter((r) => r.exactness.off === 0 && !r.incomplete && !r.failure)
    .map((r) => r.name);
  return {
    exactPipelines: exactOnes,
    cityOpsOnlyExact: exactOnes.length === 1 && exactOnes[0] === 'city-ops',
    cpuPerExactEventMicros: { cityOps: ours, kafkaStreams: streams, clickhouseKafka: clickhouse },
    notAboveKafkaStreams: ours !== null && streams !== null ? ours <= streams : null,
    clickhouseRunCompared: clickhouseRun,
    notAbove5xClickhouse: ours !== null && clickhouse !== null ? ours <= 5 * clickhouse : null,
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
