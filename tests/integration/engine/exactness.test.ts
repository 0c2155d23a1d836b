import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBase } from '../../../engine/base/loadBase.ts';
import { DEAD_LETTER_REASONS } from '../../../engine/contract/decodeRecord.ts';
import { BaseRecount } from '../../helpers/baseRecount.ts';
import {
  actualIncidentImpact,
  actualPulse,
  cleanupRun,
  districtMinute,
  type EngineProcess,
  type EngineRun,
  expectedIncidentImpact,
  expectedPulse,
  type Published,
  prepareRun,
  publish,
  pulseRange,
  query,
  startEngine,
  stopEngine,
  truthDistrictMinute,
  waitForCompletion,
  waitUntil,
} from '../../helpers/engineHarness.ts';
import { recentLike } from '../../helpers/environment.ts';

/**
 * The real path end to end: simulator -> Kafka (6 partitions) -> `city-ops run` (a separate process, piscina
 * workers) -> ClickHouse, compared with the simulator's truth and with brute-force joins of the same input.
 */
describe('engine: exact results from a simulated city', () => {
  let run: EngineRun;
  let published: Published;
  let engine: EngineProcess;
  const base = new BaseRecount();

  beforeAll(async () => {
    run = await prepareRun('exact');
    published = await publish(run, {
      seed: 7,
      start: recentLike('2026-11-26T07:50:00+08:00'),
      duration: '20m',
      events: 40_000,
      badRatio: 0.004,
      duplicateRatio: 0.01,
    });
    // The base libraries, so that each incident is also read against them (incident_base_impact).
    await loadBase(
      run.clickhouse,
      { city: run.db, restricted: run.restricted },
      { scale: 0.01, seed: 7, tee: base },
    );
    engine = startEngine(run);
    await waitForCompletion(run, published);
  });

  afterAll(async () => {
    if (engine) await stopEngine(engine);
    if (run) await cleanupRun(run);
  });

  it('city.district_minute equals the simulator truth, per stream, district and minute', async () => {
    const actual = await districtMinute(run);
    const expected = truthDistrictMinute(published.truth);
    expect(published.truth.totals.duplicates).toBeGreaterThan(0);
    expect(actual.size).toBeGreaterThan(100);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  });

  it('every bad record is in the dead letters with its reason, and none is late', async () => {
    const rows = await query<{ topic: string; reason: string; n: string }>(
      run.clickhouse,
      `SELECT topic, reason, count() AS n FROM ${run.db}.dead_letters FINAL GROUP BY topic, reason`,
    );
    const actual: Record<string, number> = {};
    for (const r of rows)
      actual[`${r.topic.replace(run.env.CITY_OPS_TOPIC_PREFIX, '')}|${r.reason}`] = Number(r.n);
    const expected: Record<string, number> = {};
    for (const [stream, reasons] of Object.entries(published.truth.dead_letters)) {
      for (const reason of DEAD_LETTER_REASONS) {
        const n = reasons[reason];
        if (n > 0) expected[`city.${stream}|${reason}`] = n;
      }
    }
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(5);
    expect(actual).toEqual(expected);
    // Each bad record keeps its Kafka key (the simulator keys every message by its vehicle, incident or cell).
    const [keys] = await query<{ missing: string; sample: string }>(
      run.clickhouse,
      `SELECT countIf(message_key = '') AS missing, any(message_key) AS sample FROM ${run.db}.dead_letters FINAL`,
    );
    expect(Number(keys?.missing)).toBe(0);
    expect(keys?.sample).toMatch(/\S/);
    const [late] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.late_events`,
    );
    expect(Number(late?.n)).toBe(0);
  });

  it('the cleaned layer holds every accepted record once', async () => {
    const counts = await query<{ stream: string; n: string }>(
      run.clickhouse,
      `SELECT 'transport' AS stream, count() AS n FROM ${run.db}.transport
       UNION ALL SELECT 'events', count() FROM ${run.db}.events
       UNION ALL SELECT 'population', count() FROM ${run.db}.population`,
    );
    for (const { stream, n } of counts) {
      expect(Number(n), stream).toBe(published.truth.by_stream[stream as 'transport'].accepted);
    }
  });

  it('once the input ends, each watermark moves once just past the last event, and stays there', async () => {
    // All partitions idle: windows close and incident bands end (60 s windows, 120 s bands, 5 s grace),
    // computed from the newest event, so a long silence does not carry event time on into the future.
    const final = (published.truth.event_time.last ?? 0) + 120_000 + 5_000 + 1;
    const watermarks = async () =>
      (
        await query<{ wm: string }>(
          run.clickhouse,
          `SELECT max(watermark_ms) AS wm FROM ${run.db}.engine_progress GROUP BY topic, source_partition`,
        )
      ).map((r) => Number(r.wm));
    expect(await watermarks()).toEqual(new Array(18).fill(final));
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // two idle timeouts more
    expect(await watermarks()).toEqual(new Array(18).fill(final));
  });

  it('city.district_pulse equals a brute-force join of the three streams', async () => {
    const { from, to } = await pulseRange(run);
    expect(to).toBeGreaterThan(published.truth.event_time.last!);
    const expected = expectedPulse(published, from, to);
    const actual = await actualPulse(run);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, figures] of expected) {
      const got = actual.get(key)!;
      for (const [field, value] of Object.entries(figures)) {
        if (field === 'speed_sum') expect(got[field], `${key} ${field}`).toBeCloseTo(value, 6);
        else expect(got[field], `${key} ${field}`).toBe(value);
      }
    }
  });

  it('city.incident_impact equals a brute-force interval join (vehicles) and table join (people)', async () => {
    const expected = expectedIncidentImpact(published);
    const actual = await actualIncidentImpact(run);
    expect(expected.size).toBeGreaterThan(10);
    expect([...expected.values()].some((e) => e.vehicles > 0)).toBe(true);
    expect([...expected.values()].some((e) => e.people_present > 0)).toBe(true);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  });

  it('city.incident_base_impact equals a brute-force recount of the base libraries at each incident', async () => {
    const impacts = await query<{
      incident_id: string;
      ts_ms: string;
      lat: number;
      lon: number;
      radius_m: number;
    }>(
      run.clickhouse,
      `SELECT incident_id, toString(ts_ms) AS ts_ms, lat, lon, radius_m FROM ${run.db}.incident_impact FINAL`,
    );
    const exactRows = () =>
      query<Record<string, string>>(
        run.clickhouse,
        `SELECT incident_id, toString(buildings) AS buildings, toString(dwellings) AS dwellings,
                toString(residents_under_14) AS under_14, toString(residents_from_14_to_64) AS from_14_to_64,
                toString(residents_from_65) AS from_65, toString(legal_persons) AS legal_persons, by_industry
           FROM ${run.restricted}.incident_base_impact_exact FINAL`,
      );
    // The finalizer writes a chunk's base rows just after its incident_impact rows.
    await waitUntil(
      async () => (await exactRows()).length >= impacts.length,
      30_000,
      async () => 'base rows missing',
    );
    const exact = new Map((await exactRows()).map((r) => [r['incident_id'], r]));
    expect(impacts.length).toBeGreaterThan(10);
    let touched = 0;
    for (const x of impacts) {
      const want = base.impact(x.lat, x.lon, Number(x.ts_ms), x.radius_m);
      const got = exact.get(x.incident_id)!;
      expect(
        {
          buildings: Number(got['buildings']),
          dwellings: Number(got['dwellings']),
          residents: {
            under_14: Number(got['under_14']),
            from_14_to_64: Number(got['from_14_to_64']),
            from_65: Number(got['from_65']),
          },
          legal_persons: Number(got['legal_persons']),
          by_industry: JSON.parse(got['by_industry']!),
        },
        x.incident_id,
      ).toEqual(want);
      if (want.residents.from_14_to_64 >= 5) touched += 1;
    }
    expect(touched).toBeGreaterThan(3);
    // The analysts' table: the same rows, residents of 1 to 4 as NULL.
    const shown = await query<Record<string, string | null>>(
      run.clickhouse,
      `SELECT incident_id, toString(residents_under_14) AS under_14, toString(residents_from_14_to_64) AS from_14_to_64,
              toString(residents_from_65) AS from_65
         FROM ${run.db}.incident_base_impact FINAL`,
    );
    expect(shown).toHaveLength(impacts.length);
    let hidden = 0;
    for (const row of shown)
      for (const band of ['under_14', 'from_14_to_64', 'from_65']) {
        const n = Number(exact.get(String(row['incident_id']))![band]);
        if (n > 0 && n < 5) hidden += 1;
        expect(row[band], `${row['incident_id']} ${band}`).toBe(n > 0 && n < 5 ? null : String(n));
      }
    expect(hidden).toBeGreaterThan(0);
  });
});
