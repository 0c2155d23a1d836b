import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopicToEnd } from '../../../engine/alerts/alertKafka.ts';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { internalTopic, streamTopic } from '../../../engine/contract/topics.ts';
import {
  cleanupRun,
  type EngineProcess,
  type EngineRun,
  prepareRun,
  query,
  startEngine,
  stopEngine,
  waitForDrained,
} from '../../helpers/engineHarness.ts';

const NOW = Date.now() - 60_000;
const NAME = '张三丰';
const reporter = { name: NAME, phone: '13812345678', id_number: '440304199001011234' };
const report = (id: string, description: string) => ({
  id,
  ts: NOW,
  category: 'flooding',
  severity: 3,
  lat: 22.54,
  lon: 114.05,
  status: 'open',
  description,
  reporter,
});

/** Records carrying one person's data in the forms a review found unmasked outside the restricted layer. */
const RECORDS: Array<[string, string]> = [
  ['f1', JSON.stringify(report('f1', `${NAME}报告积水，电话 138.1234.5678，备用 １３８１２３４５６７８`))],
  [
    'f2',
    JSON.stringify(report('f2', '身份证 440304 19900101 1234 / 440304-19900101-123X，座机 (0755) 8888 6666')),
  ],
  ['f3', JSON.stringify(report('f3', `${NAME} 1381 234 5678 与 138 1234  5678`))],
  // Dead letters: not JSON; JSON cut by the 4 KiB limit with the reporter at the end; JSON encoded twice.
  ['f4', `${NAME} 13812345678 440304199001011234 not json`],
  ['f5', JSON.stringify({ ...report('f5', 'x'.repeat(3_000)), severity: 9, note: 'y'.repeat(2_000) })],
  ['f6', JSON.stringify(JSON.stringify(report('f6', `${NAME}`)))],
  ['f7', `{"id":"f7","reporter":{"name":"${NAME}","phone":"13812345678"`],
];
/** What must not appear anywhere outside the restricted database. */
const NEEDLES = [
  NAME,
  '三丰',
  '12345678',
  '1234  5678',
  '234 5678',
  '19900101',
  '88886666',
  '8888 6666',
  '１２３４',
];

describe('personal data in every form it was written, against the real engine', () => {
  let run: EngineRun;
  let engine: EngineProcess;
  beforeAll(async () => {
    run = await prepareRun('forms', { partitions: 2 });
    const producer = createKafka(run.env, 'forms-producer').producer({
      kafkaJS: { acks: -1 },
    } as KafkaJS.ProducerConstructorConfig);
    await producer.connect();
    await producer.send({
      topic: streamTopic('events', run.env.CITY_OPS_TOPIC_PREFIX),
      messages: RECORDS.map(([key, value]) => ({ key, value })),
    });
    await producer.disconnect();
    engine = startEngine(run);
    await waitForDrained(run);
  });
  afterAll(async () => {
    if (engine) await stopEngine(engine);
    if (run) await cleanupRun(run);
  });

  it('keeps the records whole in the restricted database only', async () => {
    const [raw] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.restricted}.events_raw WHERE reporter_name = '${NAME}'`,
    );
    expect(Number(raw?.n)).toBe(3);
    const [dead] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.restricted}.dead_letters_raw WHERE position(payload, '${NAME}') > 0`,
    );
    expect(Number(dead?.n)).toBe(4);
  });

  it('shows none of it in any table of the city database', async () => {
    const tables = await query<{ name: string }>(
      run.clickhouse,
      `SELECT name FROM system.tables WHERE database = '${run.db}' AND engine NOT LIKE '%View'`,
    );
    for (const { name } of tables) {
      const columns = await query<{ name: string }>(
        run.clickhouse,
        `SELECT name FROM system.columns WHERE database = '${run.db}' AND table = '${name}' AND type LIKE '%String%'`,
      );
      if (columns.length === 0) continue;
      const text = `concat(${columns.map((c) => `toString(${c.name})`).join(", ' ', ")}, '')`;
      const hits = NEEDLES.map((n) => `position(${text}, '${n}') > 0`).join(' OR ');
      const rows = await query<Record<string, string>>(
        run.clickhouse,
        `SELECT ${text} AS text FROM ${run.db}.${name} WHERE ${hits} LIMIT 3`,
      );
      expect(rows, `${run.db}.${name}`).toEqual([]);
    }
    const [described] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.events_atomic WHERE position(description, '张**') > 0`,
    );
    expect(Number(described?.n)).toBe(2);
    const reasons = await query<{ reason: string; payload: string }>(
      run.clickhouse,
      `SELECT reason, payload FROM ${run.db}.dead_letters FINAL ORDER BY message_key`,
    );
    expect(reasons.map((r) => r.reason)).toEqual([
      'invalid_json',
      'invalid_value',
      'not_an_object',
      'invalid_json',
    ]);
    expect(reasons[0]?.payload).toMatch(/^\[not JSON: \d+ bytes, sha256 [0-9a-f]{4}(-[0-9a-f]{4}){15}\]$/);
    expect(reasons[1]?.payload).toMatch(/…\[truncated\]$/);
  });

  it('publishes none of it on the aggregates and dead-letter topics', async () => {
    const kafka = createKafka(run.env, 'forms-check');
    const texts: string[] = [];
    for (const topic of ['aggregates', 'deadLetters'] as const) {
      await readTopicToEnd(kafka, internalTopic(topic, run.env.CITY_OPS_TOPIC_PREFIX), (record) =>
        texts.push(String(record.value)),
      );
    }
    expect(texts.filter((t) => t.includes('"kind":"incident"')).length).toBeGreaterThanOrEqual(3);
    for (const needle of NEEDLES) expect(texts.filter((t) => t.includes(needle))).toEqual([]);
  });
});
