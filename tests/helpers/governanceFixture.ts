import { cityDayStart, DAY_MS } from '../../engine/access/cityCalendar.ts';
import { type CaseEvent, caseEvent } from '../../engine/cases/caseModel.ts';
import type { ClickHouseClient } from '../../engine/connectors/clickhouse/client.ts';
import { statements as caseStatements } from '../../engine/connectors/clickhouse/migrations/0300_cases.ts';
import {
  caseEventRow,
  caseEvents as caseEventsTable,
  caseScorecard,
} from '../../engine/connectors/clickhouse/tables/cases.ts';
import { exchangeLedger, sharingScorecard } from '../../engine/connectors/clickhouse/tables/exchange.ts';
import { deadLetters, lateEvents, windowPartials } from '../../engine/connectors/clickhouse/tables/layers.ts';
import { createTable, type TableDefinition } from '../../engine/connectors/clickhouse/tables/table.ts';

/** A deterministic pseudo-random sequence: the figures are compared with a recount, not with constants. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * Rows for the governance figures' sources (windows, late events, dead letters, the ledger, the daily
 * scorecard). They straddle city midnights: two days before a day, the day before it, a minute before it,
 * its first hour and half an hour later, each plus up to 59 minutes. The day is today, unless today's first
 * 90 minutes have not passed yet (then yesterday): the figures count nothing dated after now, and rows
 * ahead of the clock made every run in the city's first hour and a half after midnight fail.
 */
export function governanceFixture(now = Date.now(), seed = 11) {
  const next = random(seed);
  const today = cityDayStart(now - 2 * 3_600_000);
  const times = [today - 2 * DAY_MS, today - DAY_MS, today - 1, today, today + 30 * 60_000];
  const pick = () => times[Math.floor(next() * times.length)]! + Math.floor(next() * 60) * 60_000;
  // Distinct keys (stream, district, window_start, source_partition): one window, one row.
  const windowKeys = new Set<string>();
  const windows = Array.from({ length: 60 }, (_, i) => ({
    stream: 'transport',
    district: `44030${i % 9}`,
    window_start: Math.floor(pick() / 60_000) * 60,
    source_partition: i % 3,
    revision: 1,
    events: 1 + Math.floor(next() * 500),
  })).filter((w) => {
    const key = `${w.district}/${w.window_start}/${w.source_partition}`;
    return !windowKeys.has(key) && windowKeys.add(key) !== undefined;
  });
  const late = Array.from({ length: 25 }, (_, i) => {
    const ts = pick();
    return { stream: 'events', id: `l${i}`, ts: Math.floor(ts / 1000), ts_ms: ts, source_offset: i };
  });
  const rejected = Array.from({ length: 40 }, (_, i) => ({
    topic: 'city.population',
    source_offset: i,
    message_ts: Math.floor(pick() / 1000),
  }));
  const consumers = ['emergency', 'health', 'operations-centre'];
  const providers = ['transport', 'emergency', 'urban-management'];
  const ledger = Array.from({ length: 80 }, (_, i) => ({
    writer: 'test',
    consumer: consumers[i % 3]!,
    seq: i,
    provider: providers[Math.floor(next() * 3)]!,
    resource: 'map.districts',
    records: Math.floor(next() * 1000),
    bytes: Math.floor(next() * 100_000),
    succeeded: i % 10 === 9 ? 0 : 1,
    delivered_at: Math.floor(pick() / 1000),
  }));
  const scores = ['transport', 'emergency'].flatMap((provider, p) =>
    [today - DAY_MS, today].map((start, d) => ({
      period: 'day',
      start: start / 1000,
      provider,
      resource: `input.${p}`,
      score: 0.5 + 0.1 * d + 0.2 * p,
      validity: 0.9,
      completeness: 0.8,
      freshness: 0.7,
      answer_score: 1,
      accepted: 100 * (d + 1),
      rejected: p,
      computed_at: Math.floor(now / 1000),
    })),
  );
  // Cases: opened today (acknowledged, closed on time), yesterday (closed late), two days ago (never
  // acknowledged), and ten days ago (before every period).
  const caseEvents: CaseEvent[] = [];
  const caseOf = (
    n: number,
    openedAt: number,
    departments: string[],
    steps: Array<[CaseEvent['type'], number]>,
  ) => {
    const case_id = `case_${n.toString(16).padStart(24, '0')}`;
    const all: Array<[CaseEvent['type'], number]> = [['opened', 0], ['dispatched', 0], ...steps];
    for (const [i, [type, after]] of all.entries())
      caseEvents.push(
        caseEvent({
          case_id,
          seq: i + 1,
          type,
          at_ms: openedAt + after,
          by: type === 'opened' || type === 'dispatched' ? 'system' : departments[0]!,
          place: '440304',
          severity: 'warning',
          departments: type === 'opened' || type === 'dispatched' ? departments : [],
          deadline_ms: type === 'opened' ? openedAt + 8 * 3_600_000 : 0,
        }),
      );
  };
  caseOf(
    1,
    today + 10 * 60_000,
    ['emergency', 'health'],
    [
      ['acknowledged', 120_000],
      ['resolved', 1_800_000],
      ['verified', 1_900_000],
      ['closed', 3_600_000],
    ],
  );
  caseOf(
    2,
    today - DAY_MS + 3_600_000,
    ['emergency'],
    [
      ['acknowledged', 300_000],
      ['resolved', 9 * 3_600_000],
      ['verified', 9 * 3_600_000 + 1],
      ['closed', 10 * 3_600_000],
    ],
  );
  caseOf(3, today - 2 * DAY_MS + 3_600_000, ['transport'], []);
  caseOf(4, today - 10 * DAY_MS, ['emergency'], [['acknowledged', 1_000]]);
  return { windows, late, rejected, ledger, scores, caseEvents };
}

export type GovernanceFixture = ReturnType<typeof governanceFixture>;

/** Creates the fixture's tables in `db` and writes each of them twice: a replayed write must count once. */
export async function writeGovernanceFixture(
  engine: ClickHouseClient,
  db: string,
  fixture: GovernanceFixture,
): Promise<void> {
  const insert = (table: TableDefinition, rows: Array<Record<string, unknown>>) =>
    engine.insert({
      table: `${db}.${table.name}`,
      format: 'JSONEachRow',
      values: rows.map((r) =>
        Object.fromEntries(
          table.columns.map((c) => {
            const [name, type] = [c.slice(0, c.indexOf(' ')), c.slice(c.indexOf(' ') + 1)];
            const fallback = type.startsWith('Array') ? [] : type === 'String' ? '' : 0;
            return [name, r[name] ?? fallback];
          }),
        ),
      ),
    });
  await engine.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  for (const table of [windowPartials, lateEvents, deadLetters, exchangeLedger, sharingScorecard])
    await engine.command({ query: createTable(table, { city: db, restricted: db }) });
  for (const sql of caseStatements({ city: db, restricted: db })) await engine.command({ query: sql });
  await engine.command({ query: createTable(caseScorecard, { city: db, restricted: db }) });
  for (let copy = 0; copy < 2; copy += 1) {
    await insert(windowPartials, fixture.windows);
    await insert(lateEvents, fixture.late);
    // The copy lands in another month's part, where FINAL cannot merge it: counted once all the same.
    await insert(
      deadLetters,
      fixture.rejected.map((r) => ({ ...r, ingested_at: copy * 40 * 86_400 })),
    );
    await insert(exchangeLedger, fixture.ledger);
    await insert(sharingScorecard, fixture.scores);
    await insert(caseEventsTable, fixture.caseEvents.map(caseEventRow));
  }
}
