import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import {
  cleanupRun,
  type EngineProcess,
  type EngineRun,
  type Published,
  prepareRun,
  publish,
  query,
  startEngine,
  stopEngine,
  waitForDrained,
} from '../../helpers/engineHarness.ts';
import { recentLike, testEnv, uniqueSuffix } from '../../helpers/environment.ts';

/** The personal data the simulation put into incident reports. */
function reporters(published: Published): Array<{ name: string; phone: string; id_number: string }> {
  const people: Array<{ name: string; phone: string; id_number: string }> = [];
  for (const m of published.messages) {
    if (m.stream !== 'events' || m.kind !== 'valid') continue;
    const r = (JSON.parse(m.value) as { reporter?: Record<string, unknown> }).reporter;
    if (
      typeof r?.['name'] === 'string' &&
      typeof r['phone'] === 'string' &&
      typeof r['id_number'] === 'string'
    ) {
      people.push({ name: r['name'], phone: r['phone'], id_number: r['id_number'] });
    }
  }
  return people;
}

/**
 * Personal data (reporter name, phone, ID number) stays in city_restricted: the analyst cannot read it, and
 * nothing else carries it: not the city tables, not the dead letters, not the live aggregates, not the logs.
 * Runs on the analyst's own databases (`city`, `city_restricted`): access rights are per database.
 */
describe('engine: personal data is protected', () => {
  let run: EngineRun;
  let published: Published;
  let engine: EngineProcess;
  const analyst = createClickHouse(testEnv, 'analyst');

  beforeAll(async () => {
    run = await prepareRun('pii', {
      databases: { city: testEnv.CLICKHOUSE_DATABASE, restricted: testEnv.CLICKHOUSE_RESTRICTED_DATABASE },
    });
    published = await publish(run, {
      seed: 21,
      start: recentLike('2026-11-26T12:00:00+08:00'),
      duration: '10m',
      events: 20_000,
      badRatio: 0.01,
    });
    engine = startEngine(run);
    await waitForDrained(run);
    await stopEngine(engine);
  });

  afterAll(async () => {
    await analyst.close();
    // Keep the shared city databases (other runs' rows live there too); drop only this run's topics.
    if (run) await cleanupRun(run, false);
  });

  it('the simulation really carried personal data', () => {
    expect(reporters(published).length).toBeGreaterThan(50);
  });

  it('keeps it, whole, in the restricted raw table', async () => {
    const sample = reporters(published).slice(0, 20);
    const rows = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.restricted}.events_raw WHERE reporter_phone IN (${sample.map((r) => `'${r.phone}'`).join(',')})`,
    );
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(sample.length);
  });

  it('refuses the analyst every table of the restricted database', async () => {
    for (const table of ['events_raw', 'dead_letters_raw']) {
      await expect(
        analyst.query({ query: `SELECT * FROM ${run.restricted}.${table} LIMIT 1`, format: 'JSONEachRow' }),
      ).rejects.toThrow(/access denied/i);
    }
  });

  it('leaves no name, phone or ID number in any table the analyst can read', async () => {
    const people = reporters(published);
    const tables = await query<{ name: string }>(
      analyst,
      `SELECT name FROM system.tables WHERE database = '${run.db}' AND engine NOT LIKE '%View'`,
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['events_atomic', 'dead_letters']));
    // Any unmasked mobile number or 18-character ID number, and the reporters' names (3+ characters).
    const NUMBERS = "'(^|[^0-9])(1[3-9][0-9]{9}|[0-9]{17}[0-9X])([^0-9]|$)'";
    const names = [...new Set(people.map((p) => p.name).filter((n) => [...n].length >= 3))];
    expect(names.length).toBeGreaterThan(10);
    for (const { name } of tables) {
      const columns = await query<{ name: string }>(
        analyst,
        `SELECT name FROM system.columns WHERE database = '${run.db}' AND table = '${name}' AND type LIKE '%String%'`,
      );
      if (columns.length === 0) continue;
      const text = `concat(${columns.map((c) => `toString(${c.name})`).join(", ' ', ")}, '')`;
      const nameHits = names.map((n) => `position(${text}, '${n}') > 0`).join(' OR ');
      const [hits] = await query<{ n: string }>(
        analyst,
        `SELECT count() AS n FROM ${run.db}.${name} WHERE match(${text}, ${NUMBERS}) OR ${nameHits}`,
      );
      expect(Number(hits?.n), `${run.db}.${name}`).toBe(0);
    }
    const masked = await query<{ reporter_phone: string }>(
      analyst,
      `SELECT reporter_phone FROM ${run.db}.events_atomic WHERE has_reporter = 1 AND reporter_phone != '' LIMIT 5`,
    );
    for (const row of masked) expect(row.reporter_phone).toMatch(/^\d{3}\*{6}\d{2}$/);
  });

  it('publishes no personal data on the aggregates and dead-letter topics, and logs none', async () => {
    const people = reporters(published);
    const needles = people.flatMap((p) => [p.phone, p.id_number]);
    const consumer = createKafka(run.env, 'pii-check').consumer({
      kafkaJS: { groupId: `pii-check-${uniqueSuffix()}`, fromBeginning: true },
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [
        internalTopic('aggregates', run.env.CITY_OPS_TOPIC_PREFIX),
        internalTopic('deadLetters', run.env.CITY_OPS_TOPIC_PREFIX),
      ],
    });
    let seen = 0;
    let leaks = 0;
    let incidents = 0;
    await new Promise<void>((resolve) => {
      let quiet: NodeJS.Timeout = setTimeout(resolve, 5_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen++;
          const text = String(message.value);
          if (text.includes('"kind":"incident"')) incidents++;
          if (needles.some((n) => text.includes(n))) leaks++;
          clearTimeout(quiet);
          quiet = setTimeout(resolve, 3_000);
        },
      });
    });
    await consumer.disconnect();
    expect(seen).toBeGreaterThan(100);
    expect(incidents).toBeGreaterThan(10);
    expect(leaks).toBe(0);
    const log = readFileSync(engine.logFile, 'utf8');
    for (const needle of needles) expect(log.includes(needle)).toBe(false);
  });
});
