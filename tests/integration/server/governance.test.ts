import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cityDayStart, DAY_MS } from '../../../engine/access/cityCalendar.ts';
import { issueDepartmentToken } from '../../../engine/access/departmentTokens.ts';
import { type Governance, queryGovernance } from '../../../engine/access/governance.ts';
import { tokensFromFile } from '../../../engine/access/mapAccess.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { exchangeLedger, sharingScorecard } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import {
  deadLetters,
  lateEvents,
  windowPartials,
} from '../../../engine/connectors/clickhouse/tables/layers.ts';
import { createTable, type TableDefinition } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { type MapServer, startMapServer } from '../../../engine/server/mapServer.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const OPERATOR = 'operator-token-of-16ch';
const HOUR_MS = 3_600_000;

/** A deterministic pseudo-random sequence: the figures are compared with a recount, not with constants. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * The governance figures (issue 16): transactions per city day, flows and use from the ledger, and the
 * daily scorecard, read back from ClickHouse and equal to a recount in TypeScript of the rows written;
 * replayed rows (the same key written twice) count once; each department sees its own rows only.
 */
describe('the governance figures (ClickHouse, map server)', async () => {
  const { catalogue } = await loadCatalogue();
  const engine = createClickHouse(testEnv, 'engine');
  const db = `test_governance_${uniqueSuffix()}`;
  const tokensPath = join(mkdtempSync(join(tmpdir(), 'city-ops-governance-')), 'department-tokens.json');
  const next = random(11);
  // The rows straddle city midnights: two days before today, yesterday, today's first hour, and one stamped
  // a minute before the period starts (counted on no day).
  const today = cityDayStart(Date.now());
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
    consumer: consumers[i % 3],
    seq: i,
    provider: providers[Math.floor(next() * 3)],
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
      computed_at: Math.floor(Date.now() / 1000),
    })),
  );
  let server: MapServer;
  let emergencyToken: string;

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

  /** The figures recounted from the rows the test wrote, on the days of `answer`. */
  const recount = (answer: Governance, department?: string) => {
    const dayOf = (ms: number) => Math.floor((ms - answer.from) / DAY_MS);
    const days = Array.from({ length: answer.days }, (_, i) => ({
      day: answer.from + i * DAY_MS,
      accepted: 0,
      rejected: 0,
      delivered: 0,
      deliveries: 0,
    }));
    const add = (ms: number, f: (d: (typeof days)[number]) => void) => {
      const d = days[dayOf(ms)];
      if (ms >= answer.from && d) f(d);
    };
    for (const w of windows) add(w.window_start * 1000, (d) => (d.accepted += w.events));
    for (const l of late) add(l.ts * 1000, (d) => (d.accepted += 1));
    for (const r of rejected) add(r.message_ts * 1000, (d) => (d.rejected += 1));
    const flows = new Map<string, number>();
    const use = new Map<string, number>();
    for (const l of ledger.filter((row) => row.succeeded === 1 && row.delivered_at * 1000 >= answer.from)) {
      add(l.delivered_at * 1000, (d) => {
        d.delivered += l.records;
        d.deliveries += 1;
      });
      if (department && l.provider !== department && l.consumer !== department) continue;
      const flow = `${l.provider}->${l.consumer}`;
      flows.set(flow, (flows.get(flow) ?? 0) + l.records);
      if (department && l.consumer !== department) continue;
      const day = `${l.consumer}@${dayOf(l.delivered_at * 1000)}`;
      use.set(day, (use.get(day) ?? 0) + l.records);
    }
    return { days, flows, use };
  };
  const asMaps = (answer: Governance) => ({
    days: answer.transactions,
    flows: new Map(answer.flows.map((f) => [`${f.provider}->${f.consumer}`, f.records])),
    use: new Map(answer.use.map((u) => [`${u.consumer}@${(u.day - answer.from) / DAY_MS}`, u.records])),
  });

  beforeAll(async () => {
    await engine.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    for (const table of [windowPartials, lateEvents, deadLetters, exchangeLedger, sharingScorecard])
      await engine.command({ query: createTable(table, { city: db, restricted: db }) });
    // Each table twice: a replayed write must count once.
    for (let copy = 0; copy < 2; copy += 1) {
      await insert(windowPartials, windows);
      await insert(lateEvents, late);
      await insert(deadLetters, rejected);
      await insert(exchangeLedger, ledger);
      await insert(sharingScorecard, scores);
    }
    emergencyToken = await issueDepartmentToken(tokensPath, catalogue, 'emergency');
    server = await startMapServer({
      env: testEnv,
      token: OPERATOR,
      port: 0,
      kafka: false,
      // The analyst user reads `city` only; the test's own database is read as the engine.
      history: { client: engine, tables: { database: db } },
      access: { tokens: tokensFromFile(tokensPath), policy: { catalogue, grants: () => [] } },
    });
  });

  afterAll(async () => {
    await server?.close();
    await engine.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await engine.close();
  });

  const answerSources = Object.fromEntries(
    ['windows', 'dead_letters', 'ledger', 'scorecard'].map((s) => [s, { available: true }]),
  );
  const get = async (path: string, token?: string) => {
    const response = await fetch(`${server.url}${path}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    return { status: response.status, text: await response.text() };
  };

  it('counts transactions per city day, flows and use exactly once, as a recount does', async () => {
    const answer = await queryGovernance(engine, db, 7);
    expect(answer.sources).toEqual(answerSources);
    expect(answer.from).toBe(cityDayStart(answer.to) - 6 * DAY_MS);
    expect(answer.transactions.reduce((n, d) => n + d.accepted, 0)).toBeGreaterThan(0);
    expect(asMaps(answer)).toEqual(recount(answer));
    expect(answer.scores.map((s) => [s.provider, s.day, s.score])).toEqual(
      scores
        .filter((s) => s.start * 1000 >= answer.from)
        .sort((a, b) => a.provider.localeCompare(b.provider) || a.start - b.start)
        .map((s) => [s.provider, s.start * 1000, s.score]),
    );
  });

  it('serves the operator every row and a department its own, and keeps today on /metrics', async () => {
    const operator = JSON.parse((await get('/api/governance?days=7', OPERATOR)).text) as Governance;
    expect(operator.department).toBeNull();
    expect(operator.sources).toEqual(answerSources);
    expect(asMaps(operator)).toEqual(recount(operator));
    const mine = JSON.parse((await get('/api/governance?days=7', emergencyToken)).text) as Governance;
    expect(mine.department).toBe('emergency');
    expect(mine.transactions).toEqual(operator.transactions);
    expect(asMaps(mine)).toEqual(recount(mine, 'emergency'));
    expect(new Set(mine.scores.map((s) => s.provider))).toEqual(new Set(['emergency']));

    const day = JSON.parse((await get('/api/governance?days=1', OPERATOR)).text) as Governance;
    const todayFigures = day.transactions.at(-1)!;
    const metrics = (await get('/metrics')).text;
    for (const outcome of ['accepted', 'rejected', 'delivered'] as const)
      expect(metrics).toContain(
        `city_exchange_transactions_today{outcome="${outcome}"} ${todayFigures[outcome]}`,
      );
    expect(todayFigures.accepted).toBe(recount(day).days[0]!.accepted);
  });

  it('answers a missing token 401 and a period it does not offer 400', async () => {
    expect((await get('/api/governance?days=7')).status).toBe(401);
    expect((await get('/api/governance?days=7', 'not-a-token-of-anyone')).status).toBe(401);
    const bad = await get('/api/governance?days=5', OPERATOR);
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/days must be one of 1, 7, 30/);
  });
});
