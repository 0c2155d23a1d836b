import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssessmentConfig, assessCases, loadAssessmentConfig } from '../../../engine/access/assessment.ts';
import { cityDayStart, DAY_MS } from '../../../engine/access/cityCalendar.ts';
import { createClickHouse, selectRows } from '../../../engine/connectors/clickhouse/client.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { governanceFixture, writeGovernanceFixture } from '../../helpers/governanceFixture.ts';

/**
 * Case handling in the sharing assessment (issue 17): `city.case_scorecard`, per department and city day
 * over the cases opened in it, equal to a recount in TypeScript of the case events written (cases closed on
 * time, late, never acknowledged, and one before the range), weighted by the configured case weights.
 */
describe('case handling in the sharing assessment (ClickHouse)', async () => {
  const engine = createClickHouse(testEnv, 'engine');
  const db = `test_case_score_${uniqueSuffix()}`;
  const fixture = governanceFixture();
  const shipped = await loadAssessmentConfig();
  // Weights of our own, so that a score built from the shipped defaults would not pass by chance.
  const config = AssessmentConfig.parse({
    ...shipped,
    case_weights: { acknowledgement: 0.5, closure: 0.2, on_time_closure: 0.3 },
  });

  beforeAll(async () => writeGovernanceFixture(engine, db, fixture));
  afterAll(async () => {
    await engine.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await engine.close();
  });

  /** Per city day and department: the cases opened that day, recounted from their events. */
  const recount = (from: number) => {
    const byCase = new Map<string, typeof fixture.caseEvents>();
    for (const e of fixture.caseEvents) byCase.set(e.case_id, [...(byCase.get(e.case_id) ?? []), e]);
    const rows = new Map<string, { cases: number; acknowledged: number; closed: number; onTime: number }>();
    for (const events of byCase.values()) {
      const opened = events[0]!;
      if (opened.at_ms < from) continue;
      const closed = events.at(-1)!.type === 'closed' ? events.at(-1)! : undefined;
      for (const department of opened.departments) {
        const key = `${cityDayStart(opened.at_ms)} ${department}`;
        const r = rows.get(key) ?? { cases: 0, acknowledged: 0, closed: 0, onTime: 0 };
        r.cases += 1;
        if (events.some((e) => e.type === 'acknowledged')) r.acknowledged += 1;
        if (closed) r.closed += 1;
        if (closed && closed.at_ms <= opened.deadline_ms) r.onTime += 1;
        rows.set(key, r);
      }
    }
    const w = config.case_weights;
    return new Map(
      [...rows].map(([key, r]) => [
        key,
        {
          counts: [r.cases, r.acknowledged, r.closed, r.onTime],
          score:
            (w.acknowledgement * r.acknowledged + w.closure * r.closed + w.on_time_closure * r.onTime) /
            r.cases,
        },
      ]),
    );
  };

  it('scores each department per city day as a recount of its cases does', async () => {
    const now = Date.now();
    const from = cityDayStart(now) - 6 * DAY_MS;
    await assessCases(engine, db, config, from, now);
    // A second pass replaces the first (the same key): each period is scored once.
    await assessCases(engine, db, config, from, now);
    const rows = await selectRows<Record<string, string | number>>(
      engine,
      `SELECT toUInt32(start) AS start_s, department, cases, acknowledged, closed, on_time, score
       FROM ${db}.case_scorecard FINAL WHERE period = 'day' ORDER BY start_s, department`,
    );
    const want = recount(from);
    expect(rows.map((r) => `${Number(r['start_s']) * 1000} ${r['department']}`).sort()).toEqual(
      [...want.keys()].sort(),
    );
    for (const r of rows) {
      const w = want.get(`${Number(r['start_s']) * 1000} ${r['department']}`)!;
      expect([r['cases'], r['acknowledged'], r['closed'], r['on_time']].map(Number)).toEqual(w.counts);
      expect(Number(r['score'])).toBeCloseTo(w.score, 9);
    }
    // The fixture's cases: closed on time (score 1), closed late, never acknowledged (score 0).
    expect(new Set(rows.map((r) => Number(r['score']).toFixed(6)))).toEqual(
      new Set(['1.000000', '0.700000', '0.000000']),
    );
    const hours = await selectRows<{ n: string }>(
      engine,
      `SELECT sum(cases) AS n FROM ${db}.case_scorecard FINAL WHERE period = 'hour'`,
    );
    expect(Number(hours[0]!.n)).toBe(rows.reduce((n, r) => n + Number(r['cases']), 0));
  });

  it('refuses case weights that do not add up to 1', () => {
    expect(() =>
      AssessmentConfig.parse({
        ...shipped,
        case_weights: { acknowledgement: 0.5, closure: 0.5, on_time_closure: 0.5 },
      }),
    ).toThrow(/case weights must add up to 1/);
  });
});
