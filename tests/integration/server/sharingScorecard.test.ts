import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assess, loadAssessmentConfig } from '../../../engine/access/assessment.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { createClickHouse, selectRows } from '../../../engine/connectors/clickhouse/client.ts';
import {
  eventsAtomic,
  populationAtomic,
  transportAtomic,
} from '../../../engine/connectors/clickhouse/tables/atomic.ts';
import { grantRequests, sharingScorecard } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import { deadLetters } from '../../../engine/connectors/clickhouse/tables/layers.ts';
import {
  columnNames,
  createTable,
  type TableDefinition,
} from '../../../engine/connectors/clickhouse/tables/table.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const HOUR_S = 3600;
/** 10:00 UTC on 2026-11-30: the first of the two hours assessed. */
const T0 = Date.UTC(2026, 10, 30, 10) / 1000;

/** A deterministic pseudo-random sequence (the scorecard is compared with a recount, not a constant). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** The scorecard in ClickHouse equals a recount, in TypeScript, of the rows the test wrote. */
describe('the sharing scorecard (ClickHouse)', async () => {
  const { catalogue } = await loadCatalogue();
  const config = await loadAssessmentConfig();
  const engine = createClickHouse(testEnv, 'engine');
  const db = `test_assess_${uniqueSuffix()}`;
  const prefix = `test.${uniqueSuffix()}.`;
  const next = random(7);
  // Transport: 240 records in the first hour, each ingested 0-120 s after its event time; the second hour
  // is silent. 9 dead letters of its topic in the first hour, 4 of another stream's.
  const records = Array.from({ length: 240 }, (_, i) => {
    const ts = T0 + Math.floor(next() * 40) * 60 + Math.floor(next() * 60);
    return { id: `v${i}`, ts, ingested_at: ts + Math.floor(next() * 121) };
  });
  const rejected = [
    ...Array.from({ length: 9 }, (_, i) => ({
      topic: `${prefix}city.transport`,
      offset: i,
      at: T0 + i * 300,
    })),
    ...Array.from({ length: 4 }, (_, i) => ({ topic: `${prefix}city.events`, offset: 100 + i, at: T0 + i })),
  ];
  // Answers of the transport provider: one in 400 h (late), one in 20 h, both answered in the first hour.
  const answers = [
    { id: 'r1', provider: 'transport', requested_at: T0 - 400 * HOUR_S + 60, answered_at: T0 + 60 },
    { id: 'r2', provider: 'transport', requested_at: T0 - 20 * HOUR_S + 120, answered_at: T0 + 120 },
    { id: 'r3', provider: 'health', requested_at: T0 - 900 * HOUR_S, answered_at: T0 + 30 },
  ];

  const insert = (table: TableDefinition, rows: Array<Record<string, unknown>>) =>
    engine.insert({
      table: `${db}.${table.name}`,
      format: 'JSONEachRow',
      values: rows.map((r) =>
        Object.fromEntries(
          table.columns.map((c) => {
            const [name, type] = [c.slice(0, c.indexOf(' ')), c.slice(c.indexOf(' ') + 1)];
            const fallback = type.startsWith('Nullable')
              ? null
              : type.startsWith('Array')
                ? []
                : type === 'String'
                  ? ''
                  : 0;
            return [name, r[name] ?? fallback];
          }),
        ),
      ),
    });

  beforeAll(async () => {
    await engine.command({ query: `CREATE DATABASE ${db}` });
    for (const table of [
      transportAtomic,
      eventsAtomic,
      populationAtomic,
      deadLetters,
      grantRequests,
      sharingScorecard,
    ])
      await engine.command({ query: createTable(table, { city: db, restricted: db }) });
    await insert(
      transportAtomic,
      records.map((r) => ({ ...r, ts_ms: r.ts * 1000 })),
    );
    await insert(
      deadLetters,
      rejected.map((r) => ({
        topic: r.topic,
        source_offset: r.offset,
        reason: 'bad',
        message_ts: r.at,
        ingested_at: r.at,
      })),
    );
    await insert(
      grantRequests,
      answers.flatMap((a) => [
        {
          id: a.id,
          action: 'requested',
          provider: a.provider,
          requested_at: a.requested_at,
          due_at: a.requested_at,
          recorded_at_ms: 1,
        },
        {
          id: a.id,
          action: 'granted',
          provider: a.provider,
          requested_at: a.requested_at,
          due_at: a.requested_at,
          answered_at: a.answered_at,
          recorded_at_ms: 2,
        },
      ]),
    );
    expect(columnNames(sharingScorecard)).toContain('score');
  });
  afterAll(async () => {
    await engine.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await engine.close();
  });

  it('equals a brute-force recount for every hour, a silent one included, and for the day', async () => {
    await assess(engine, db, catalogue, config, prefix, T0 * 1000, (T0 + 2 * HOUR_S) * 1000);
    const rows = await selectRows<Record<string, string | number>>(
      engine,
      `SELECT * FROM ${db}.${sharingScorecard.name} FINAL WHERE resource = 'input.transport' ORDER BY period, start`,
    );
    const recount = (from: number, seconds: number) => {
      const mine = records.filter((r) => r.ts >= from && r.ts < from + seconds);
      const accepted = mine.length;
      const dead = rejected.filter(
        (r) => r.topic.endsWith('.city.transport') && r.at >= from && r.at < from + seconds,
      ).length;
      const minutes = new Set(mine.map((r) => Math.floor(r.ts / 60))).size;
      const fresh = mine.filter((r) => r.ingested_at - r.ts <= config.freshness_seconds).length;
      const answered = answers.filter(
        (a) => a.provider === 'transport' && a.answered_at >= from && a.answered_at < from + seconds,
      );
      const mean =
        answered.reduce((s, a) => s + (a.answered_at - a.requested_at) / 3600, 0) /
        Math.max(1, answered.length);
      const validity = accepted + dead === 0 ? 0 : accepted / (accepted + dead);
      const completeness = minutes / (seconds / 60);
      const freshness = accepted === 0 ? 0 : fresh / accepted;
      const answerScore =
        answered.length === 0 || mean <= config.answer_target_hours ? 1 : config.answer_target_hours / mean;
      const w = config.weights;
      const score =
        w.validity * validity +
        w.completeness * completeness +
        w.freshness * freshness +
        w.answer_time * answerScore;
      return {
        accepted,
        dead,
        minutes,
        fresh,
        answered: answered.length,
        validity,
        completeness,
        freshness,
        answerScore,
        score,
      };
    };
    // The day is Shenzhen's: from 00:00 UTC+8.
    const day = Math.floor((T0 + 8 * HOUR_S) / 86_400) * 86_400 - 8 * HOUR_S;
    const expected = [
      { period: 'day', start: day, ...recount(day, 86_400) },
      { period: 'hour', start: T0, ...recount(T0, HOUR_S) },
      { period: 'hour', start: T0 + HOUR_S, ...recount(T0 + HOUR_S, HOUR_S) },
    ];
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      const want = expected[i]!;
      expect(row['period']).toBe(want.period);
      expect(Date.parse(`${String(row['start']).replace(' ', 'T')}Z`) / 1000).toBe(want.start);
      expect([
        Number(row['accepted']),
        Number(row['rejected']),
        Number(row['minutes']),
        Number(row['fresh']),
        Number(row['answered']),
      ]).toEqual([want.accepted, want.dead, want.minutes, want.fresh, want.answered]);
      for (const [column, value] of [
        ['validity', want.validity],
        ['completeness', want.completeness],
        ['freshness', want.freshness],
        ['answer_score', want.answerScore],
        ['score', want.score],
      ] as const)
        expect(Number(row[column]), `${want.period} ${want.start} ${column}`).toBeCloseTo(value, 9);
    });
    // The silent hour scores as silent: nothing valid, complete or fresh; only its answers count.
    expect(expected[2]).toMatchObject({ accepted: 0, validity: 0, completeness: 0, freshness: 0 });
    expect(expected[2]!.score).toBeCloseTo(config.weights.answer_time, 9);
    expect(expected[1]!.answerScore).toBeLessThan(1);
  });
});
