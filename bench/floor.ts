/**
 * bench:floor: what the day's path costs on this machine before any engine work, measured part by part,
 * each part alone on the machine. It answers one question about bench:day's goal (the 20 M-event day in
 * under 100 s on two cores): how much of the two cores' 200 CPU-seconds do the parts that any
 * implementation of the path must run already take?
 *
 *   1. produce: the simulator's messages, generated beforehand into memory (not measured), handed to
 *      Kafka with the simulator's producer settings; CPU of this process (librdkafka's threads included:
 *      lz4, requests) and of the broker;
 *   2. consume: every message read back with the engine's Kafka source (the packed consume); CPU of this
 *      process and of the broker, less the parse loops';
 *   3. parse: `JSON.parse` of every message as it is consumed, the least an engine does with a JSON
 *      record (the time of those loops: one thread, busy);
 *   4. ClickHouse: every record's row inserted once into its stream's atomic table (the cleaned layer),
 *      the rows built beforehand by the engine's batch code (not measured), in inserts of one second of the
 *      goal's rate (200 000 events) each; the CPU of ClickHouse and of this process until ClickHouse's
 *      merges are done.
 *
 * Everything the engine does besides (validation, district and H3 cell, windows and de-duplication, the
 * restricted raw table, window partials, the joined layer, commits) comes on top. The floor of the day on
 * two cores is the sum of the four parts' CPU-seconds, scaled to 20 M events, over 2.
 *
 *   npm run bench:floor                          # 2 000 000 events, scaled to the day
 *   npm run bench:floor -- --events 4000000
 *
 * Writes bench/results/floor.json (the command, the machine, every figure). Needs the local stack.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import KafkaJavascript from '@confluentinc/kafka-javascript';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import type { RowBinaryChunk } from '../engine/connectors/clickhouse/rowBinary.ts';
import { ClickHouseSink } from '../engine/connectors/clickhouse/sink.ts';
import {
  eventsAtomic,
  populationAtomic,
  transportAtomic,
} from '../engine/connectors/clickhouse/tables/atomic.ts';
import { columnNames } from '../engine/connectors/clickhouse/tables/table.ts';
import { KafkaSource } from '../engine/connectors/kafka/source.ts';
import { recordClock } from '../engine/contract/decodeRecord.ts';
import { type StreamName, streamTopic } from '../engine/contract/topics.ts';
import { createLogger } from '../engine/observability/logger.ts';
import { type BatchTask, processBatch } from '../engine/pipeline/batchWorker.ts';
import { BATCH_STREAMS, type EncodedBatch, INDEX_STRIDE } from '../engine/simulator/encodeBatch.ts';
import { simulatorProducerConfig } from '../engine/simulator/publishSimulation.ts';
import { openBatchSource } from '../engine/simulator/simulationBatches.ts';
import { DAILY_EVENTS, recentLike, resolveSimulationOptions } from '../engine/simulator/simulationOptions.ts';
import { machineFacts, openBenchStack, processUsage } from './benchStack.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
  },
});
const events = Number(values.events);
const partitions = Number(values.partitions);
/** The goal of bench:day: the day on two cores in 100 s, i.e. 200 000 events/s. */
const GOAL_SECONDS = 100;
const GOAL_RATE = DAILY_EVENTS / GOAL_SECONDS;
const CORES = 2;
const command = `npm run bench:floor${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const say = (line: string) =>
  process.stderr.write(`[bench:floor ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function ownCpu(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

interface Part {
  readonly wallSeconds: number;
  /** CPU-seconds per process that did the work. */
  readonly cpuSeconds: Readonly<Record<string, number>>;
}

/** Runs one part and measures its wall time and the CPU of this process and of `others` (pids). */
async function measure(
  name: string,
  others: Readonly<Record<string, number>>,
  work: () => Promise<void>,
): Promise<Part> {
  const before = Object.fromEntries(
    Object.entries(others).map(([k, pid]) => [k, processUsage(pid).cpuSeconds]),
  );
  const ownBefore = ownCpu();
  const started = performance.now();
  await work();
  const wallSeconds = (performance.now() - started) / 1000;
  const cpuSeconds: Record<string, number> = { bench: round(ownCpu() - ownBefore) };
  for (const [k, pid] of Object.entries(others))
    cpuSeconds[k] = round(processUsage(pid).cpuSeconds - before[k]!);
  const total = Object.values(cpuSeconds).reduce((a, b) => a + b, 0);
  say(`${name}: ${wallSeconds.toFixed(1)} s, CPU ${JSON.stringify(cpuSeconds)} (${round(total)} s)`);
  return { wallSeconds: round(wallSeconds), cpuSeconds };
}

const round = (x: number) => Number(x.toFixed(2));

async function main(): Promise<void> {
  const { id, env, clickhouse, count, kafkaPid, clickhousePid, drop } = await openBenchStack(
    'bench-floor',
    partitions,
    say,
  );
  const topicOf = BATCH_STREAMS.map((stream) => streamTopic(stream, env.CITY_OPS_TOPIC_PREFIX));

  // 0. The messages, generated into memory (not part of the floor).
  say(`generating ${events.toLocaleString('en')} messages of seed ${values.seed}'s day`);
  const source = openBatchSource(
    resolveSimulationOptions({
      seed: Number(values.seed),
      events,
      start: recentLike('2026-11-26T00:00:00+08:00'),
      duration: '24h',
      rate: 'max',
    }),
    { truth: false },
  );
  const batches: EncodedBatch[] = [];
  let generated = 0;
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    batches.push(batch);
    source.ack(batch.id, batch.count);
    generated += batch.count;
  }
  await source.finish();
  say(`generated ${generated.toLocaleString('en')} messages`);

  // The atomic rows of every message, built by the engine's batch code (not measured), as the RowBinary
  // bytes it hands over, so the ClickHouse part measures sending them and ClickHouse's work.
  const rows: Record<StreamName, RowBinaryChunk[]> = { transport: [], events: [], population: [] };
  let accepted = 0;
  const nextOffset = BATCH_STREAMS.map(() => 0);
  for (const batch of batches) {
    for (const [stream, task] of tasksOf(batch, nextOffset)) {
      const result = processBatch(task);
      rows[stream].push(result.atomic);
      accepted += result.accepted.count;
    }
  }

  // 1. Produce.
  const producer = new KafkaJavascript.Producer(simulatorProducerConfig(env, false) as never);
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 15_000 }, (error) => (error ? reject(error) : resolve())),
  );
  producer.setPollInterval(50);
  const produce = await measure('produce', { kafka: kafkaPid }, async () => {
    for (const batch of batches) {
      const view = Buffer.from(batch.bytes);
      const index = batch.index;
      for (let m = 0; m < batch.count; m++) {
        const i = m * INDEX_STRIDE;
        const key = view.subarray(index[i + 1], index[i + 2]);
        const value = index[i + 3]! < 0 ? null : view.subarray(index[i + 3], index[i + 4]);
        for (;;) {
          try {
            producer.produce(topicOf[index[i]!]!, null, value, key);
            break;
          } catch (error) {
            if ((error as { code?: number }).code !== -184) throw error; // queue full: let it drain
            await sleep(5);
          }
        }
      }
    }
    await new Promise<void>((resolve, reject) =>
      producer.flush(120_000, (error) => (error ? reject(error) : resolve())),
    );
  });
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  batches.length = 0; // free them before consuming

  // 2 and 3. Consume, and parse each message as it comes (timed apart: the parse loops are this thread's
  // CPU, and their time is taken out of the consume part's). Nothing is kept: the harness adds no heap.
  const logger = createLogger('bench-floor', 'warn');
  const kafka = new KafkaSource(env, {
    groupId: `bench-floor-${id}`,
    clientId: 'bench-floor',
    topics: topicOf,
    onAssign: async () => {},
    onRevoke: () => {},
    logger,
  });
  await kafka.connect();
  const utf8 = new TextDecoder();
  let consumed = 0;
  let parsed = 0;
  let parseMs = 0;
  const consumeAndParse = await measure('consume and parse', { kafka: kafkaPid }, async () => {
    while (consumed < generated) {
      const messages = await kafka.poll(50_000);
      const began = performance.now();
      for (const message of messages) {
        if (message.value !== null && JSON.parse(utf8.decode(message.value)) !== null) parsed++;
      }
      parseMs += performance.now() - began;
      consumed += messages.length;
    }
  });
  await kafka.close();
  const parse: Part = { wallSeconds: round(parseMs / 1000), cpuSeconds: { bench: round(parseMs / 1000) } };
  const consume: Part = {
    wallSeconds: round(consumeAndParse.wallSeconds - parseMs / 1000),
    cpuSeconds: {
      bench: round(consumeAndParse.cpuSeconds['bench']! - parseMs / 1000),
      kafka: consumeAndParse.cpuSeconds['kafka']!,
    },
  };
  say(`of which parse: ${parse.wallSeconds} s`);

  // 4. ClickHouse: the rows (built before producing), inserted.
  const sink = new ClickHouseSink(clickhouse);
  const insertBytes = async (table: string, columns: readonly string[], chunks: RowBinaryChunk[]) => {
    await sink.insertRowBinary(table, columns, chunks);
  };
  const db = env.CLICKHOUSE_DATABASE;
  const inserts = Math.max(1, Math.round(accepted / GOAL_RATE));
  const insert = await measure('clickhouse', { clickhouse: clickhousePid }, async () => {
    for (let n = 0; n < inserts; n++) {
      const share = (list: RowBinaryChunk[]) =>
        list.slice(Math.floor((n * list.length) / inserts), Math.floor(((n + 1) * list.length) / inserts));
      await Promise.all([
        insertBytes(`${db}.transport_atomic`, columnNames(transportAtomic), share(rows.transport)),
        insertBytes(`${db}.events_atomic`, columnNames(eventsAtomic), share(rows.events)),
        insertBytes(`${db}.population_atomic`, columnNames(populationAtomic), share(rows.population)),
      ]);
    }
    // Until the merges the inserts started are done (two quiet polls in a row).
    for (let quiet = 0; quiet < 2; ) {
      await sleep(1_000);
      const merging = await count(`SELECT count() AS n FROM system.merges WHERE database = '${db}'`);
      quiet = merging === 0 ? quiet + 1 : 0;
    }
  });
  const inserted = await count(
    `SELECT (SELECT count() FROM ${db}.transport_atomic) + (SELECT count() FROM ${db}.events_atomic) + (SELECT count() FROM ${db}.population_atomic) AS n`,
  );
  if (inserted !== generated || parsed !== generated || consumed !== generated) {
    throw new Error(
      `counts differ: generated ${generated}, consumed ${consumed}, parsed ${parsed}, inserted ${inserted}`,
    );
  }

  const parts = { produce, consume, parse, clickhouse: insert };
  const cpuTotal = Object.values(parts)
    .flatMap((p) => Object.values(p.cpuSeconds))
    .reduce((a, b) => a + b, 0);
  const scale = DAILY_EVENTS / generated;
  const floorSeconds = (cpuTotal * scale) / CORES;
  const result = {
    command,
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: { events: generated, seed: Number(values.seed), partitions, insertsOfRows: GOAL_RATE },
    parts,
    cpuSecondsPerEventMicros: round((cpuTotal / generated) * 1e6),
    day: {
      events: DAILY_EVENTS,
      cpuSeconds: round(cpuTotal * scale),
      floorSecondsOnTwoCores: round(floorSeconds),
      goalSeconds: GOAL_SECONDS,
      shareOfGoal: round(floorSeconds / GOAL_SECONDS),
    },
  };
  say(
    `floor: ${result.cpuSecondsPerEventMicros} µs of CPU per event before any engine work; the day: ${round(cpuTotal * scale)} CPU-s, ${round(floorSeconds)} s on ${CORES} cores (goal ${GOAL_SECONDS} s)`,
  );
  const file = join(PROJECT_ROOT, 'bench', 'results', 'floor.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  say(`wrote ${file}`);

  await drop();
}

/**
 * The messages of a generated batch as the engine's BatchTasks, one per stream (offsets numbered per
 * stream across the run in `nextOffset`, partition 0): what a worker would get for them, to build their
 * rows.
 */
function tasksOf(batch: EncodedBatch, nextOffset: number[]): Array<[StreamName, BatchTask]> {
  const view = new Uint8Array(batch.bytes);
  const index = batch.index;
  return BATCH_STREAMS.flatMap((stream, k): Array<[StreamName, BatchTask]> => {
    const members: number[] = [];
    for (let m = 0; m < batch.count; m++) if (index[m * INDEX_STRIDE] === k) members.push(m);
    if (members.length === 0) return [];
    const part = (from: number, to: number) => (m: number) =>
      index[m * INDEX_STRIDE + from]! < 0
        ? null
        : view.subarray(index[m * INDEX_STRIDE + from], index[m * INDEX_STRIDE + to]);
    const values = members.map(part(3, 4));
    const keys = members.map(part(1, 2));
    const offsets = new Float64Array(members.length);
    for (let i = 0; i < members.length; i++) offsets[i] = nextOffset[k]!++;
    return [
      [
        stream,
        {
          stream,
          topic: stream,
          partition: 0,
          offsets,
          timestamps: new Float64Array(members.length),
          payload: Buffer.concat(values.filter((v) => v !== null)),
          lengths: Int32Array.from(values, (v) => (v === null ? -1 : v.length)),
          keyPayload: Buffer.concat(keys.filter((v) => v !== null)),
          keyLengths: Int32Array.from(keys, (v) => (v === null ? -1 : v.length)),
          clock: recordClock(),
        },
      ],
    ];
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
