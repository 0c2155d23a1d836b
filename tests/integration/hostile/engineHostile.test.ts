import type { KafkaJS } from '@confluentinc/kafka-javascript';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { DEAD_LETTER_REASONS, decodeRecord, recordClock } from '../../../engine/contract/decodeRecord.ts';
import { type StreamName, streamTopic } from '../../../engine/contract/topics.ts';
import {
  cleanupRun,
  districtMinute,
  type EngineProcess,
  type EngineRun,
  type Published,
  prepareRun,
  publish,
  query,
  startEngine,
  stopEngine,
  truthDistrictMinute,
  waitForDrained,
} from '../../helpers/engineHarness.ts';
import { recentLike } from '../../helpers/environment.ts';

interface Hostile {
  readonly stream: StreamName;
  readonly key: string;
  readonly value: Buffer | string | null;
  /** The message timestamp the producer asks for (the broker replaces it: LogAppendTime). */
  readonly timestamp?: string;
  readonly why: string;
}

const YEAR_2099 = Date.UTC(2099, 0, 1);
const NOW = Date.now();
const bus = (fields: Record<string, unknown>) =>
  JSON.stringify({
    id: 'h-bus',
    ts: NOW - 60_000,
    vehicle: 'B-H',
    mode: 'bus',
    lat: 22.54,
    lon: 114.05,
    ...fields,
  });
const people = (h3: string) =>
  JSON.stringify({ id: `h-${h3}`, ts: NOW - 60_000, h3, present: 5, inflow: 1, outflow: 0 });

/** The findings of the review, one record each, in front of the good data on every partition. */
const FINDINGS: Hostile[] = [
  {
    stream: 'population',
    key: 'x',
    value: people('fffffffffffffff'),
    why: 'an h3 that passes the pattern, not a cell',
  },
  {
    stream: 'population',
    key: 'y',
    value: people('000000000000000'),
    why: 'the cell that decoded to 79.2 N',
  },
  { stream: 'population', key: 'z', value: people('89411c1a8bbffff'), why: 'a cell of another resolution' },
  {
    stream: 'transport',
    key: 'B-H',
    value: bus({ id: 'h-2099', ts: YEAR_2099 }),
    timestamp: '0',
    why: '2099, zero timestamp',
  },
  {
    stream: 'transport',
    key: 'B-I',
    value: bus({ id: 'h-2099b', ts: YEAR_2099 - 86_400_000 }),
    timestamp: String(YEAR_2099),
    why: '2098, a forged timestamp',
  },
  {
    stream: 'transport',
    key: 'B-J',
    value: bus({ id: 'h-hour', ts: NOW + 3_600_000 }),
    why: 'an hour ahead (the old contract allowed it)',
  },
  {
    stream: 'transport',
    key: 'B-K',
    value: bus({ id: 'h-old', ts: NOW - 400 * 86_400_000 }),
    why: 'a backlog of last year',
  },
  { stream: 'transport', key: 'B-L', value: bus({ id: 'h\u202eb' }), why: 'a bidi override in an id' },
  {
    stream: 'transport',
    key: 'B-M',
    value: bus({ vehicle: 'B\u200bM' }),
    why: 'a zero-width space in a vehicle',
  },
  {
    stream: 'events',
    key: 'e',
    value: Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    why: 'bytes that are not UTF-8',
  },
];

/** Random bytes, random JSON and near-valid records, keeping only those the contract rejects. */
function generated(seed: number): Hostile[] {
  const nearValid = fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 4 }), fc.constant('')),
      ts: fc.oneof(
        fc.constant(NOW - 30_000),
        fc.constant(YEAR_2099),
        fc.integer(),
        fc.string({ maxLength: 8 }),
      ),
      vehicle: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()),
      mode: fc.constantFrom('bus', 'metro', 'zeppelin', ''),
      lat: fc.oneof(fc.double(), fc.constant(22.5)),
      lon: fc.oneof(fc.double(), fc.constant(114.0)),
      h3: fc.oneof(fc.stringMatching(/^[0-9a-f]{15}$/), fc.constant('88411c1a8bfffff')),
      present: fc.oneof(fc.integer(), fc.double()),
    },
    { requiredKeys: [] },
  );
  const value = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.json({ maxDepth: 3 }),
    nearValid.map((r) => JSON.stringify(r)),
  );
  const streams = fc.constantFrom<StreamName>('transport', 'events', 'population');
  const clock = recordClock(NOW);
  return fc
    .sample(fc.tuple(streams, value, fc.string({ maxLength: 8 })), { numRuns: 300, seed })
    .filter(([stream, v]) => !decodeRecord(stream, typeof v === 'string' ? v : v, undefined, clock).ok)
    .map(([stream, v, key]) => ({ stream, key, value: v, why: 'generated' }));
}

async function send(producer: KafkaJS.Producer, run: EngineRun, records: Hostile[]): Promise<void> {
  for (const stream of ['transport', 'events', 'population'] as const) {
    const messages = records
      .filter((r) => r.stream === stream)
      .map((r) => ({ key: r.key, value: r.value, ...(r.timestamp ? { timestamp: r.timestamp } : {}) }));
    if (messages.length > 0)
      await producer.send({
        topic: streamTopic(stream, run.env.CITY_OPS_TOPIC_PREFIX),
        messages: messages as KafkaJS.Message[],
      });
  }
}

describe('the engine against hostile records (real Kafka and ClickHouse)', () => {
  let run: EngineRun;
  let engine: EngineProcess;
  let published: Published;
  const hostile = [...FINDINGS, ...generated(13)];

  beforeAll(async () => {
    run = await prepareRun('hostile', { partitions: 2 });
    const producer = createKafka(run.env, 'hostile-producer').producer({
      kafkaJS: { acks: -1 },
    } as KafkaJS.ProducerConstructorConfig);
    await producer.connect();
    // Before the good data, so that a record that moved a watermark would make the good data late.
    await send(producer, run, hostile);
    await producer.disconnect();
    published = await publish(run, {
      seed: 31,
      start: recentLike('2026-11-26T10:00:00+08:00'),
      duration: '5m',
      events: 6_000,
      badRatio: 0,
    });
    engine = startEngine(run);
    await waitForDrained(run);
  });
  afterAll(async () => {
    if (engine) await stopEngine(engine, 'SIGKILL');
    if (run) await cleanupRun(run);
  });

  it('dead-letters every hostile record with a reason, moves past them, and stays up', async () => {
    expect(engine.child.exitCode).toBeNull();
    const rows = await query<{ reason: string; n: string }>(
      run.clickhouse,
      `SELECT reason, count() AS n FROM ${run.db}.dead_letters FINAL GROUP BY reason`,
    );
    const byReason = Object.fromEntries(rows.map((r) => [r.reason, Number(r.n)]));
    expect(rows.reduce((n, r) => n + Number(r.n), 0)).toBe(hostile.length);
    for (const reason of Object.keys(byReason)) expect(DEAD_LETTER_REASONS).toContain(reason);
    expect(byReason['clock_skew']).toBeGreaterThanOrEqual(3);
    expect(byReason['too_old']).toBeGreaterThanOrEqual(1);
    const cells = await query<{ detail: string }>(
      run.clickhouse,
      `SELECT detail FROM ${run.db}.dead_letters FINAL WHERE topic LIKE '%population' AND detail LIKE 'h3:%'`,
    );
    expect(cells.length).toBeGreaterThanOrEqual(3);
    expect(byReason['enrichment_failed'] ?? 0).toBe(0);
  });

  it('keeps every good record, exact and on time: no watermark moved ahead', async () => {
    expect(await districtMinute(run)).toEqual(truthDistrictMinute(published.truth));
    const [late] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.late_events`,
    );
    expect(Number(late?.n)).toBe(0);
    const [progress] = await query<{ wm: string }>(
      run.clickhouse,
      `SELECT max(watermark_ms) AS wm FROM ${run.db}.engine_progress`,
    );
    expect(Number(progress?.wm)).toBeLessThanOrEqual(Date.now() + 120_000);
  });

  it('stops cleanly afterwards', async () => {
    await stopEngine(engine);
  });
});
