import { describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../../engine/alerts/alertEvaluator.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import { parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { type DistrictWindowMessage, districtWindowMessage } from '../../../engine/contract/aggregates.ts';
import { SimulationTruth } from '../../../engine/simulator/SimulationTruth.ts';
import { simulateCity } from '../../../engine/simulator/simulateCity.ts';

// The anomaly rule of config/alerts.example.yaml (traffic-surge), on the city simulator's own daily curve.
const RULES = `version: 1
departments: [{ id: t, name_en: T, name_zh: T, endpoints: [{ id: e, url: 'http://127.0.0.1:1/', secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw] }] }]
routes: [{ departments: [t] }]
rules:
  - id: traffic-surge
    severity: warning
    title_en: 'Unusual traffic in {district_en}'
    title_zh: '{district_zh}交通流量异常'
    source: { kind: district_window, stream: transport, indicator: events }
    condition:
      type: anomaly
      direction: above
      baseline: { kind: time_of_day, slot: 15m, days: 7, min_days: 2 }
      z_fire: 6
      z_clear: 3
      for: 2
      clear_for: 3
    cooldown: 30m
`;

const EVENTS_PER_DAY = 200_000;
const DAY = 86_400_000;
const START = Date.parse('2026-11-16T00:00:00+08:00');
const SURGE_START = Date.parse('2026-11-20T17:40:00+08:00');

/** The transport `district_window` totals the engine must publish for a simulator run (its truth). */
function transportWindows(options: Parameters<typeof simulateCity>[0]): DistrictWindowMessage[] {
  const simulation = simulateCity(options);
  const truth = new SimulationTruth(simulation.options);
  for (const message of simulation) truth.add(message);
  return truth
    .toJSON()
    .windows.filter((w) => w.stream === 'transport')
    .map((w) =>
      districtWindowMessage({
        stream: 'transport',
        district: w.district,
        window_start: w.window_start,
        final: true,
        events: w.events,
        distinct_keys: w.distinct_keys,
        speed_sum: w.speed_sum,
        speed_count: w.speed_count,
        opened: w.opened,
        closed: w.closed,
        severe: w.severe,
        present: w.present,
        inflow: w.inflow,
        outflow: w.outflow,
      }),
    );
}

describe('the anomaly rule on a simulator run (engine/simulator, deterministic daily curve)', () => {
  it('fires on an injected surge and not on the normal daily curve', { timeout: 180_000 }, () => {
    const config = parseAlertConfig(RULES, 'sim.yaml', {}).config;
    const warm = new AlertEvaluator(config);
    const warmUp = transportWindows({
      seed: 7,
      start: new Date(START).toISOString(),
      duration: '96h',
      events: 4 * EVENTS_PER_DAY,
    });
    const warmTransitions = warmUp.flatMap((m) => warm.process(m));
    const snapshot = warm.snapshot();
    const day = {
      seed: 8,
      start: new Date(START + 4 * DAY).toISOString(),
      duration: '24h',
      events: EVENTS_PER_DAY,
    };

    const normal = AlertEvaluator.restore(config, snapshot);
    const normalWindows = transportWindows(day);
    const normalDay: AlertTransition[] = normalWindows.flatMap((m) => normal.process(m));
    const surged = AlertEvaluator.restore(config, snapshot);
    const surgeDay: AlertTransition[] = transportWindows({
      ...day,
      surge: [`district=440304,start=${new Date(SURGE_START).toISOString()},minutes=10,factor=5`],
    }).flatMap((m) => surged.process(m));

    const districts = new Set(normalWindows.map((w) => w.district)).size;
    const falseAlarms = normalDay.filter((t) => t.type === 'firing');
    console.info(
      `simulator day (seed 8, ${EVENTS_PER_DAY} events, ${districts} districts x ${normalWindows.length / districts} windows): ` +
        `false alarms ${falseAlarms.length} (${falseAlarms.map((t) => `${t.district}@${new Date(t.started_at).toISOString()}`).join(', ') || 'none'}); ` +
        `warm-up days 3-4: ${warmTransitions.filter((t) => t.type === 'firing').length}; surge day: ${surgeDay.map((t) => `${t.type} ${t.district} ${new Date(t.at).toISOString()} z=${t.z_score?.toFixed(1)}`).join(', ')}`,
    );
    expect(falseAlarms).toEqual([]);
    const surgeFirings = surgeDay.filter((t) => t.type === 'firing');
    expect(surgeFirings.map((t) => t.district)).toEqual(['440304']);
    const firing = surgeFirings[0]!;
    expect(firing.started_at).toBeGreaterThanOrEqual(SURGE_START);
    expect(firing.started_at).toBeLessThan(SURGE_START + 10 * 60_000);
    const resolved = surgeDay.find((t) => t.type === 'resolved' && t.alert_id === firing.alert_id);
    expect(resolved?.resolved_at).toBeGreaterThanOrEqual(SURGE_START + 10 * 60_000);
    expect(resolved?.resolved_at).toBeLessThan(SURGE_START + 30 * 60_000);
  });
});
