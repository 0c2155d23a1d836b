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
import { type MapServer, startMapServer } from '../../../engine/server/mapServer.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { governanceFixture, writeGovernanceFixture } from '../../helpers/governanceFixture.ts';

const OPERATOR = 'operator-token-of-16ch';

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
  const { windows, late, rejected, ledger, scores, caseEvents } = governanceFixture();
  let server: MapServer;
  let emergencyToken: string;

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
    const flows = new Map<string, string>();
    const use = new Map<string, string>();
    const plus = (figures: string | undefined, ...more: number[]) => {
      const sums = figures?.split('/').map(Number) ?? more.map(() => 0);
      return sums.map((n, k) => n + more[k]!).join('/');
    };
    for (const l of ledger.filter((row) => row.succeeded === 1 && row.delivered_at * 1000 >= answer.from)) {
      add(l.delivered_at * 1000, (d) => {
        d.delivered += l.records;
        d.deliveries += 1;
      });
      if (department && l.provider !== department && l.consumer !== department) continue;
      const flow = `${l.provider}->${l.consumer}`;
      flows.set(flow, plus(flows.get(flow), l.records, l.bytes, 1));
      if (department && l.consumer !== department) continue;
      const day = `${l.consumer}@${dayOf(l.delivered_at * 1000)}`;
      use.set(day, plus(use.get(day), l.records, 1));
    }
    return { days, flows, use };
  };
  const asMaps = (answer: Governance) => ({
    days: answer.transactions,
    flows: new Map(
      answer.flows.map((f) => [`${f.provider}->${f.consumer}`, `${f.records}/${f.bytes}/${f.deliveries}`]),
    ),
    use: new Map(
      answer.use.map((u) => [
        `${u.consumer}@${(u.day - answer.from) / DAY_MS}`,
        `${u.records}/${u.deliveries}`,
      ]),
    ),
  });

  beforeAll(async () => {
    await writeGovernanceFixture(engine, db, { windows, late, rejected, ledger, scores, caseEvents });
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
    ['windows', 'dead_letters', 'ledger', 'scorecard', 'cases'].map((s) => [s, { available: true }]),
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

  it('measures case handling per department over the cases opened in the period, as a recount does', async () => {
    const answer = await queryGovernance(engine, db, 7);
    const byCase = new Map<string, typeof caseEvents>();
    for (const e of caseEvents) byCase.set(e.case_id, [...(byCase.get(e.case_id) ?? []), e]);
    const recount = new Map<
      string,
      { cases: number; acknowledged: number; ackMs: number; closed: number; closeMs: number; onTime: number }
    >();
    for (const events of byCase.values()) {
      const opened = events[0]!;
      if (opened.at_ms < answer.from) continue;
      const ack = events.find((e) => e.type === 'acknowledged');
      const closed = events.at(-1)!.type === 'closed' ? events.at(-1)! : undefined;
      for (const department of opened.departments) {
        const r = recount.get(department) ?? {
          cases: 0,
          acknowledged: 0,
          ackMs: 0,
          closed: 0,
          closeMs: 0,
          onTime: 0,
        };
        r.cases += 1;
        if (ack) {
          r.acknowledged += 1;
          r.ackMs += ack.at_ms - opened.at_ms;
        }
        if (closed) {
          r.closed += 1;
          r.closeMs += closed.at_ms - opened.at_ms;
          if (closed.at_ms <= opened.deadline_ms) r.onTime += 1;
        }
        recount.set(department, r);
      }
    }
    expect(answer.cases.map((c) => c.department)).toEqual([...recount.keys()].sort());
    for (const c of answer.cases) {
      const r = recount.get(c.department)!;
      expect(c).toEqual({
        department: c.department,
        cases: r.cases,
        acknowledged: r.acknowledged,
        mean_ack_s: r.acknowledged === 0 ? 0 : r.ackMs / r.acknowledged / 1000,
        closed: r.closed,
        mean_close_s: r.closed === 0 ? 0 : r.closeMs / r.closed / 1000,
        closure_rate: r.closed / r.cases,
        on_time_closure_rate: r.onTime / r.cases,
      });
    }
    // emergency: one case closed on time, one late.
    expect(answer.cases.find((c) => c.department === 'emergency')).toMatchObject({
      cases: 2,
      closed: 2,
      on_time_closure_rate: 0.5,
    });
  });

  it('serves the operator every row and a department its own, and keeps today on /metrics', async () => {
    const operator = JSON.parse((await get('/api/governance?days=7', OPERATOR)).text) as Governance;
    expect(operator.department).toBeNull();
    expect(operator.sources).toEqual(answerSources);
    expect(asMaps(operator)).toEqual(recount(operator));
    const mine = JSON.parse((await get('/api/governance?days=7', emergencyToken)).text) as Governance;
    expect(mine.department).toBe('emergency');
    expect(mine.names['emergency']).toEqual({ zh: '应急管理局', en: 'Emergency Management Bureau' });
    expect(mine.transactions).toEqual(operator.transactions);
    expect(asMaps(mine)).toEqual(recount(mine, 'emergency'));
    expect(new Set(mine.scores.map((s) => s.provider))).toEqual(new Set(['emergency']));
    expect(mine.cases.map((c) => c.department)).toEqual(['emergency']);

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
