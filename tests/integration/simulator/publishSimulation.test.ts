import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../engine/cli/main.ts';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { RECORD_FAULTS } from '../../../engine/contract/decodeRecord.ts';
import {
  STREAM_NAMES,
  type StreamName,
  streamOfTopic,
  streamTopic,
} from '../../../engine/contract/topics.ts';
import { publishSimulation } from '../../../engine/simulator/publishSimulation.ts';
import {
  formatTruth,
  SimulationTruth,
  type SimulationTruthFile,
} from '../../../engine/simulator/SimulationTruth.ts';
import { simulateCity } from '../../../engine/simulator/simulateCity.ts';
import { recentLike, testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { byWindow, recountTruth } from '../../unit/simulator/recountTruth.ts';

interface Consumed {
  stream: StreamName;
  partition: number;
  offset: number;
  key: string;
  value: Buffer | null;
}

const OPTIONS = {
  seed: 21,
  start: recentLike('2026-11-20T07:55:00+08:00'),
  duration: '10m',
  events: 20_000,
  badRatio: 0.03,
  duplicateRatio: 0.02,
  surge: [`district=440304,start=${recentLike('2026-11-20T08:00:00+08:00')},minutes=3,factor=5`],
};

const kafka = createKafka(testEnv, 'simulator-test');
const prefixes: string[] = [];
let directory: string;

function newPrefix(): string {
  const prefix = `test.sim.${uniqueSuffix()}.`;
  prefixes.push(prefix);
  return prefix;
}

/** Reads every message of the three stream topics under `prefix` until `expected` have arrived. */
async function consumeAll(prefix: string, expected: number): Promise<Consumed[]> {
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `simulator-test-${uniqueSuffix()}`, fromBeginning: true },
  });
  const received: Consumed[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: STREAM_NAMES.map((s) => streamTopic(s, prefix)) });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.length} of ${expected} messages arrived`)),
        120_000,
      );
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }: KafkaJS.EachMessagePayload) => {
            received.push({
              stream: streamOfTopic(topic, prefix)!,
              partition,
              offset: Number(message.offset),
              key: String(message.key),
              value: message.value,
            });
            if (received.length === expected) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return received;
}

/** Messages in the topics: the sum of the partitions' high watermarks. */
async function topicSizes(prefix: string): Promise<Record<StreamName, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const sizes = { transport: 0, events: 0, population: 0 };
    for (const stream of STREAM_NAMES) {
      const offsets = await admin.fetchTopicOffsets(streamTopic(stream, prefix));
      sizes[stream] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    }
    return sizes;
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'city-ops-simulator-'));
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  const topics = prefixes.flatMap((prefix) => STREAM_NAMES.map((s) => streamTopic(s, prefix)));
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
  await rm(directory, { recursive: true, force: true });
});

describe('publishSimulation into the real broker', () => {
  const prefix = newPrefix();
  let consumed: Consumed[];
  let truthFile: SimulationTruthFile;
  let report: Awaited<ReturnType<typeof publishSimulation>>;

  beforeAll(async () => {
    await ensureTopics(
      testEnv,
      STREAM_NAMES.map((s) => streamTopic(s, prefix)),
      6,
    );
    report = await publishSimulation(OPTIONS, { env: testEnv, topicPrefix: prefix, truth: true });
    const path = join(directory, 'truth.json');
    await writeFile(path, formatTruth(report.truth!));
    truthFile = JSON.parse(await readFile(path, 'utf8')) as SimulationTruthFile;
    consumed = await consumeAll(prefix, report.sent);
  });

  it('delivers every message to the topic of its stream', async () => {
    expect(report.deliveryFailures).toBe(0);
    expect(report.interrupted).toBe(false);
    const generated = [...simulateCity(OPTIONS)];
    expect(report.sent).toBe(generated.length);
    const count = (stream: StreamName) => consumed.filter((m) => m.stream === stream).length;
    for (const stream of STREAM_NAMES) {
      expect(count(stream)).toBe(report.byStream[stream]);
      expect(count(stream)).toBe(generated.filter((m) => m.stream === stream).length);
    }
    expect(await topicSizes(prefix)).toEqual(report.byStream);
  });

  it('keeps each key in one partition, in publication order, byte for byte as generated', () => {
    const partitionOf = new Map<string, number>();
    const spread: string[] = [];
    for (const m of consumed) {
      const id = `${m.stream}:${m.key}`;
      const known = partitionOf.get(id);
      if (known !== undefined && known !== m.partition) spread.push(id);
      partitionOf.set(id, m.partition);
    }
    expect(spread).toEqual([]);
    expect(new Set(consumed.filter((m) => m.stream === 'transport').map((m) => m.partition)).size).toBe(6);

    // Within each key, Kafka order is the simulator's publication order, values identical to a regeneration.
    const expected = new Map<string, string[]>();
    for (const m of simulateCity(OPTIONS)) {
      const id = `${m.stream}:${m.key}`;
      expected.set(id, [...(expected.get(id) ?? []), m.value]);
    }
    const actual = new Map<string, string[]>();
    for (const m of [...consumed].sort((a, b) => a.offset - b.offset)) {
      const id = `${m.stream}:${m.key}`;
      actual.set(id, [...(actual.get(id) ?? []), m.value === null ? '' : m.value.toString('utf8')]);
    }
    expect(actual.size).toBe(expected.size);
    const differing = [...expected].filter(
      ([id, values]) => JSON.stringify(actual.get(id)) !== JSON.stringify(values),
    );
    expect(differing.slice(0, 3)).toEqual([]);
  });

  it('writes a truth file equal to a recount of what the broker holds', () => {
    const recount = recountTruth(consumed.map((m) => ({ stream: m.stream, value: m.value })));
    expect(truthFile.totals.messages).toBe(consumed.length);
    expect(truthFile.totals.accepted).toBe(recount.accepted);
    expect(truthFile.totals.duplicates).toBe(recount.duplicates);
    expect(truthFile.totals.duplicates).toBeGreaterThan(0);
    expect(truthFile.dead_letters).toEqual(recount.deadLetters);
    expect(RECORD_FAULTS.every((fault) => truthFile.dead_letters.transport[fault] > 0)).toBe(true);
    const expected = byWindow(recount.windows);
    const actual = byWindow(truthFile.windows);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    const differing = [...expected].filter(
      ([key, w]) => JSON.stringify(actual.get(key)) !== JSON.stringify(w),
    );
    expect(differing.slice(0, 3)).toEqual([]);
    expect(truthFile.totals.surge).toBeGreaterThan(0);
  });
});

describe('publishSimulation under backpressure', () => {
  it('waits for room when the producer queue is full and loses nothing', async () => {
    const prefix = newPrefix();
    await ensureTopics(
      testEnv,
      STREAM_NAMES.map((s) => streamTopic(s, prefix)),
      3,
    );
    const report = await publishSimulation(
      { ...OPTIONS, events: 6_000, badRatio: 0, duplicateRatio: 0, surge: [] },
      {
        env: testEnv,
        topicPrefix: prefix,
        // A queue of 50 messages fills at once: every send after it has to wait for deliveries.
        producerConfig: { 'queue.buffering.max.messages': 50, 'linger.ms': 1 },
      },
    );
    expect(report).toMatchObject({ sent: 6_000, deliveryFailures: 0, interrupted: false });
    expect(await topicSizes(prefix)).toEqual(report.byStream);
  });

  it('stops when aborted, flushing what it handed over', async () => {
    const prefix = newPrefix();
    await ensureTopics(
      testEnv,
      STREAM_NAMES.map((s) => streamTopic(s, prefix)),
      3,
    );
    const stop = new AbortController();
    const report = await publishSimulation(
      { ...OPTIONS, events: 50_000, rate: 5_000 },
      {
        env: testEnv,
        topicPrefix: prefix,
        signal: stop.signal,
        truth: true,
        progressIntervalMs: 100,
        onProgress: ({ sent }) => {
          if (sent >= 1_000) stop.abort();
        },
      },
    );
    expect(report.interrupted).toBe(true);
    expect(report.sent).toBeGreaterThan(1_000);
    expect(report.sent).toBeLessThan(50_000);
    const sizes = await topicSizes(prefix);
    expect(sizes.transport + sizes.events + sizes.population).toBe(report.sent);
    // The truth and the stats describe what was published, not what had been generated ahead.
    expect(report.truth!.totals.messages).toBe(report.sent);
    expect(report.stats.messages).toBe(report.sent);
  });

  it('publishes the same from this thread as from the worker', async () => {
    const prefix = newPrefix();
    await ensureTopics(
      testEnv,
      STREAM_NAMES.map((s) => streamTopic(s, prefix)),
      3,
    );
    const options = { ...OPTIONS, events: 3_000 };
    const inThread = await publishSimulation(options, {
      env: testEnv,
      topicPrefix: prefix,
      worker: false,
      truth: true,
    });
    const inWorker = await publishSimulation(options, { env: testEnv, dryRun: true, truth: true });
    expect(inThread.truth).toEqual(inWorker.truth);
    expect(inThread.stats).toEqual(inWorker.stats);
    expect(await topicSizes(prefix)).toEqual(inThread.byStream);
    // A running simulation and the caller's own truth accumulator are accepted too.
    const simulation = simulateCity(options);
    const truth = new SimulationTruth(simulation.options);
    const own = await publishSimulation(simulation, { env: testEnv, dryRun: true, truth });
    expect(own.sent).toBe(inThread.sent);
    expect(truth.toJSON()).toEqual(inWorker.truth);
  });
});

describe('city-ops simulate', () => {
  it('publishes, prints a summary and writes the truth file', async () => {
    const prefix = newPrefix();
    const truthPath = join(directory, 'cli-truth.json');
    const output: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      output.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await main([
        'simulate',
        '--seed=5',
        `--start=${recentLike('2026-11-20T12:00:00+08:00')}`,
        '--duration=2m',
        '--events=3000',
        '--bad-ratio=0.02',
        `--topic-prefix=${prefix}`,
        `--truth=${truthPath}`,
        '--quiet',
      ]);
    } finally {
      stdout.mockRestore();
    }
    expect(code).toBe(0);
    const summary = JSON.parse(output.join('')) as {
      sent: number;
      delivery_failures: number;
      invalid: number;
    };
    expect(summary).toMatchObject({ sent: 3_000, delivery_failures: 0 });
    expect(summary.invalid).toBeGreaterThan(0);
    const truth = JSON.parse(await readFile(truthPath, 'utf8')) as SimulationTruthFile;
    expect(truth.totals.messages).toBe(3_000);
    expect(truth.options).toMatchObject({
      seed: 5,
      start: recentLike('2026-11-20T12:00:00+08:00'),
      events: 3_000,
    });
    const sizes = await topicSizes(prefix);
    expect(sizes.transport + sizes.events + sizes.population).toBe(3_000);
  });

  it('refuses a replay whose events the engine would take for impossible future times', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const future = new Date(Date.now() + 3 * 86_400_000).toISOString();
      expect(
        await main(['simulate', `--start=${future}`, '--duration=1m', '--topic-prefix=test.never.']),
      ).toBe(2);
      expect(await main(['simulate', '--no-such-flag'])).toBe(2);
    } finally {
      stderr.mockRestore();
    }
  });
});
