import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assess, loadAssessmentConfig } from '../../../engine/access/assessment.ts';
import { lastDeliveries } from '../../../engine/access/silenceAlerts.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { sharingScorecard } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import { PROVIDER_FAULTS } from '../../../engine/simulator/simulationOptions.ts';
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
  waitForCompletion,
} from '../../helpers/engineHarness.ts';
import { recentLike } from '../../helpers/environment.ts';

const HOUR = 3_600_000;

/**
 * The whole path of the sharing assessment: the simulator's faulty providers, published to Kafka, run
 * through the engine into ClickHouse, and scored. The scorecard shows each fault, and its volumes equal
 * the simulator's truth hour by hour.
 */
describe('the sharing assessment of faulty providers (simulator, Kafka, engine, ClickHouse)', () => {
  let run: EngineRun;
  let published: Published;
  let engine: EngineProcess;
  // 08:00 in Shenzhen is 00:00 UTC: the run's hours are the scorecard's hours.
  const start = Date.parse(recentLike('2026-11-26T08:00:00+08:00'));

  beforeAll(async () => {
    run = await prepareRun('scorecard');
    published = await publish(run, {
      seed: 11,
      start,
      duration: '150m',
      events: 15_000,
      faultyProviders: true,
    });
    engine = startEngine(run);
    await waitForCompletion(run, published);
    const { catalogue } = await loadCatalogue();
    const config = await loadAssessmentConfig();
    // Through the hour now: a dead letter is counted in the hour of its message time, and a replay publishes
    // its messages now, not at their event time.
    await assess(
      run.clickhouse,
      run.db,
      catalogue,
      config,
      run.env.CITY_OPS_TOPIC_PREFIX,
      start,
      Date.now() + HOUR,
    );
  });

  afterAll(async () => {
    if (engine) await stopEngine(engine);
    if (run) await cleanupRun(run);
  });

  const hourly = async (resource: string) =>
    query<{ start: string; accepted: string; rejected: string; validity: number; completeness: number }>(
      run.clickhouse,
      `SELECT toUnixTimestamp(start) * 1000 AS start, accepted, rejected, validity, completeness
       FROM ${run.db}.${sharingScorecard.name} FINAL WHERE period = 'hour' AND resource = '${resource}' ORDER BY start`,
    );

  it('counts per hour what the truth says each provider delivered', async () => {
    for (const stream of ['transport', 'events', 'population'] as const) {
      const rows = (await hourly(`input.${stream}`)).slice(0, 3);
      expect(rows.map((r) => Number(r.start))).toEqual([start, start + HOUR, start + 2 * HOUR]);
      for (const row of rows) {
        const from = Number(row.start);
        const truth = published.truth.windows
          .filter((w) => w.stream === stream && w.window_start >= from && w.window_start < from + HOUR)
          .reduce((n, w) => n + w.events, 0);
        expect(Number(row.accepted), `${stream} ${new Date(from).toISOString()}`).toBe(truth);
      }
    }
  });

  it('shows the silent provider silent for the run’s second hour, and only then', async () => {
    const rows = await hourly('input.population');
    const silentHour = start + PROVIDER_FAULTS.silentAfterMs;
    const silent = rows.find((r) => Number(r.start) === silentHour)!;
    expect([Number(silent.accepted), silent.validity, silent.completeness]).toEqual([0, 0, 0]);
    expect(rows[0]!.completeness).toBeGreaterThan(0.9);
  });

  it('counts the invalid provider’s dead letters, about 5% of what it sent, and none of the others’', async () => {
    const rejected = async (resource: string) =>
      (await hourly(resource)).reduce((n, r) => n + Number(r.rejected), 0);
    const dead = (stream: 'transport' | 'events' | 'population') =>
      Object.values(published.truth.dead_letters[stream]).reduce((n, c) => n + c, 0);
    expect(await rejected('input.events')).toBe(dead('events'));
    expect(await rejected('input.transport')).toBe(0);
    expect(await rejected('input.population')).toBe(0);
    const share = dead('events') / (dead('events') + published.truth.by_stream.events.accepted);
    expect(share).toBeGreaterThan(0.03);
    expect(share).toBeLessThan(0.07);
  });

  it('knows when each stream last delivered (what the silence alert reads)', async () => {
    const now = Date.now();
    const latest = await lastDeliveries(run.clickhouse, run.db, now, now - start + HOUR);
    for (const stream of ['transport', 'events', 'population'] as const) {
      const last = latest.get(stream);
      expect(last, stream).toBeDefined();
      expect(now - last!, stream).toBeLessThan(10 * 60_000); // ingested by this run's engine
    }
  });
});
