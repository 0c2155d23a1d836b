import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../../engine/alerts/alertEvaluator.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import type { AggregateMessage, IncidentImpactMessage } from '../../../engine/contract/aggregates.ts';
import { configOf, DAY, DAY0, MINUTE, transportDays, windowPartial } from './syntheticCity.ts';

function run(evaluator: AlertEvaluator, messages: Iterable<AggregateMessage>): AlertTransition[] {
  const out: AlertTransition[] = [];
  for (const message of messages) out.push(...evaluator.process(message));
  return out;
}

const T0 = DAY0 + 8 * 3_600_000;

function* series(values: number[], district = '440304'): Generator<AggregateMessage> {
  for (const [i, value] of values.entries()) {
    yield {
      ...windowPartial({ district, start: T0 + i * MINUTE, partition: 0, events: 100 }),
      speed_sum: value * 100,
    };
  }
}

const SPEED_RULE = (condition: string, cooldown = '10m') => `  - id: slow
    severity: warning
    title_en: 'Slow in {district_en}: {value} km/h'
    title_zh: '{district_zh}缓慢'
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: ${condition}
    cooldown: ${cooldown}
`;

describe('AlertEvaluator: threshold, hysteresis and cooldown', () => {
  // A speed hovering around the threshold of 12 km/h for an hour, then recovering for good.
  const hovering = [
    ...Array.from({ length: 10 }, () => 20),
    ...Array.from({ length: 60 }, (_, i) => [11.5, 11.8, 12.5, 11.9, 12.2, 11.7, 11.6, 12.8][i % 8]!),
    ...Array.from({ length: 10 }, () => 25),
  ];

  it('fires once and resolves once on flapping input, thanks to the hysteresis band', () => {
    const evaluator = new AlertEvaluator(
      configOf(
        SPEED_RULE('{ type: threshold, direction: below, fire: 12, clear: 16, for: 2, clear_for: 3 }'),
      ),
    );
    const transitions = run(evaluator, series(hovering));
    expect(transitions.map((t) => t.type)).toEqual(['firing', 'resolved']);
    const [firing, resolved] = transitions;
    expect(firing).toMatchObject({
      rule: 'slow',
      district: '440304',
      severity: 'warning',
      threshold: 12,
      indicator: 'transport.mean_speed_kmh',
      title_en: `Slow in Futian: ${Math.round((firing?.value ?? 0) * 10) / 10} km/h`,
      title_zh: '福田区缓慢',
    });
    expect(firing?.value).toBeLessThanOrEqual(12);
    expect(resolved?.alert_id).toBe(firing?.alert_id);
    // Resolved at the end of the third window above 16 km/h (clear_for: 3).
    expect(resolved?.resolved_at).toBe(T0 + 73 * MINUTE);
  });

  it('would flap without hysteresis: the band, not luck, keeps it quiet', () => {
    const evaluator = new AlertEvaluator(
      configOf(SPEED_RULE('{ type: threshold, direction: below, fire: 12 }', '0s')),
    );
    const transitions = run(evaluator, series(hovering));
    expect(transitions.filter((t) => t.type === 'firing').length).toBeGreaterThan(10);
  });

  it('holds a re-firing back during the cooldown, and fires after it if the condition still holds', () => {
    const evaluator = new AlertEvaluator(
      configOf(SPEED_RULE('{ type: threshold, direction: below, fire: 12, clear: 16 }', '30m')),
    );
    // Slow 5 min, fast 5 min, then alternating 10/20 every minute for 40 min, then slow for good.
    const values = [
      ...Array(5).fill(10),
      ...Array(5).fill(20),
      ...Array.from({ length: 40 }, (_, i) => (i % 2 ? 20 : 10)),
      ...Array(10).fill(10),
    ];
    const transitions = run(evaluator, series(values));
    expect(transitions.map((t) => [t.type, (t.at - T0) / MINUTE])).toEqual([
      ['firing', 0],
      ['resolved', 6],
      // cooldown until minute 36: the first slow window at or after it fires a new alert
      ['firing', 36],
      ['resolved', 38],
      // the next cooldown lasts until minute 68: the slow minutes 50-59 stay held back
    ]);
    expect(new Set(transitions.filter((t) => t.type === 'firing').map((t) => t.alert_id)).size).toBe(2);
  });

  it('ignores replays and stragglers: a window seen twice is evaluated once', () => {
    const evaluator = new AlertEvaluator(
      configOf(SPEED_RULE('{ type: threshold, direction: below, fire: 12 }')),
    );
    const once = [...series([10, 10, 20])];
    const transitions = run(evaluator, [...once, ...once]);
    expect(transitions.map((t) => t.type)).toEqual(['firing', 'resolved']);
  });
});

describe('AlertEvaluator: windows from several partitions', () => {
  it('evaluates a window once every partition is final, on the summed totals', () => {
    const evaluator = new AlertEvaluator(
      configOf(`  - id: busy
    severity: info
    title_en: busy
    title_zh: 繁忙
    source: { kind: district_window, stream: transport, indicator: events }
    condition: { type: threshold, direction: above, fire: 100, clear: 50 }
`),
    );
    const start = T0;
    const partial = (partition: number, events: number, revision: number, final: boolean) =>
      windowPartial({ district: '440305', start, partition, events, revision, final });
    // Three partitions, 40 events each in the end: only the sum (120) crosses 100.
    expect(evaluator.process(partial(0, 30, 1, false))).toEqual([]);
    expect(evaluator.process(partial(1, 40, 1, true))).toEqual([]);
    expect(evaluator.process(partial(2, 40, 1, true))).toEqual([]);
    expect(evaluator.process(partial(0, 35, 2, false))).toEqual([]);
    const fired = evaluator.process(partial(0, 40, 3, true));
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      type: 'firing',
      value: 120,
      window_start: start,
      window_end: start + MINUTE,
    });
    // A stale revision after completion changes nothing.
    expect(evaluator.process(partial(0, 99, 4, true))).toEqual([]);
    expect(evaluator.stats.windowsCompleted).toBe(1);
  });

  it('completes a window whose partition published nothing for that district once it moves on', () => {
    const evaluator = new AlertEvaluator(
      configOf(`  - id: busy
    severity: info
    title_en: busy
    title_zh: 繁忙
    source: { kind: district_window, stream: transport, indicator: events }
    condition: { type: threshold, direction: above, fire: 100 }
`),
    );
    evaluator.process(
      windowPartial({ district: '440306', start: T0, partition: 0, events: 1, final: false }),
    );
    evaluator.process(windowPartial({ district: '440306', start: T0, partition: 1, events: 1 }));
    // Partition 0 has no data for 440305 at T0, but partition 1 does.
    expect(
      evaluator.process(windowPartial({ district: '440305', start: T0, partition: 1, events: 150 })),
    ).toEqual([]);
    // Partition 0 finals a later window elsewhere: it has nothing more for T0.
    expect(
      evaluator.process(windowPartial({ district: '440306', start: T0, partition: 0, events: 1 })),
    ).toEqual([]);
    const out = evaluator.process(
      windowPartial({ district: '440306', start: T0 + MINUTE, partition: 0, events: 1 }),
    );
    expect(out.map((t) => [t.type, t.district, t.value])).toEqual([['firing', '440305', 150]]);
  });
});

describe('AlertEvaluator: windows arriving out of order from several aggregates partitions', () => {
  it('evaluates each district in event-time order once every input partition has passed the window', () => {
    const config = configOf(`  - id: busy
    severity: info
    title_en: busy
    title_zh: 繁忙
    source: { kind: district_window, stream: transport, indicator: events }
    condition: { type: threshold, direction: above, fire: 100, clear: 50 }
    cooldown: 0s
`);
    const evaluator = new AlertEvaluator(config, { inputPartitions: 2 });
    const busy = windowPartial({ district: '440304', start: T0, partition: 0, events: 150 });
    const quiet = windowPartial({ district: '440304', start: T0 + MINUTE, partition: 0, events: 20 });
    const other = windowPartial({ district: '440305', start: T0 + MINUTE, partition: 0, events: 20 });
    // The quiet minute comes first (aggregates partition 1), the busy one after (partition 0).
    expect(evaluator.process(quiet, 1)).toEqual([]);
    const out = [...evaluator.process(busy, 0), ...evaluator.process(other, 0)];
    expect(out.map((t) => [t.type, t.window_start])).toEqual([
      ['firing', T0],
      ['resolved', T0 + MINUTE],
    ]);
    // Without the hold, the late busy minute would have been dropped as stale.
    const naive = new AlertEvaluator(config);
    expect([...naive.process(quiet), ...naive.process(busy), ...naive.process(other)]).toEqual([]);
  });
});

describe('AlertEvaluator: anomaly against the same time of day', () => {
  const rule = `  - id: surge
    severity: warning
    title_en: 'Unusual traffic in {district_en}'
    title_zh: '{district_zh}交通异常'
    source: { kind: district_window, stream: transport, indicator: events }
    condition:
      type: anomaly
      baseline: { kind: time_of_day, slot: 15m, days: 7, min_days: 2 }
      z_fire: 6
      z_clear: 3
      for: 2
      clear_for: 3
    cooldown: 30m
`;
  const surgeStart = DAY0 + 7 * DAY + 17 * 3_600_000 + 40 * MINUTE;
  const warmUp = () => {
    const evaluator = new AlertEvaluator(configOf(rule));
    const warm = run(evaluator, transportDays({ from: DAY0, days: 7, seed: 1 }));
    return { evaluator, warm };
  };

  it('stays quiet over a normal simulated day (false alarms counted over 8 districts x 1440 minutes)', () => {
    const { evaluator, warm } = warmUp();
    const day = run(evaluator, transportDays({ from: DAY0 + 7 * DAY, days: 1, seed: 2 }));
    const falseAlarms = day.filter((t) => t.type === 'firing');
    console.info(
      `false alarms: ${falseAlarms.length} over one normal day (8 districts x 1440 windows); during warm-up days 3-7: ${warm.filter((t) => t.type === 'firing').length}`,
    );
    expect(falseAlarms).toHaveLength(0);
  });

  it('fires on a 5x surge of 10 minutes in one district, and only there, then resolves', () => {
    const { evaluator } = warmUp();
    const day = run(
      evaluator,
      transportDays({
        from: DAY0 + 7 * DAY,
        days: 1,
        seed: 2,
        surge: { district: '440304', start: surgeStart, minutes: 10, factor: 5 },
      }),
    );
    expect(day.map((t) => [t.type, t.district])).toEqual([
      ['firing', '440304'],
      ['resolved', '440304'],
    ]);
    const [firing, resolved] = day;
    // for: 2 -> fires on the second surge window; resolves 3 windows after the surge ends.
    expect(firing?.started_at).toBe(surgeStart + MINUTE);
    expect(firing?.z_score).toBeGreaterThan(6);
    expect(firing?.value).toBeGreaterThan(firing?.threshold ?? Infinity);
    expect(resolved?.resolved_at).toBe(surgeStart + 13 * MINUTE);
  });

  it('learns nothing before min_days: no alert on the first days', () => {
    const evaluator = new AlertEvaluator(configOf(rule));
    const out = run(
      evaluator,
      transportDays({
        from: DAY0,
        days: 1,
        seed: 3,
        surge: { district: '440304', start: DAY0 + 12 * 3_600_000, minutes: 10, factor: 5 },
      }),
    );
    expect(out).toEqual([]);
  });
});

describe('AlertEvaluator: rate of change and cells', () => {
  it('fires when people present rise 30 % within 15 minutes', () => {
    const evaluator = new AlertEvaluator(
      configOf(`  - id: crowd
    severity: warning
    title_en: crowd
    title_zh: 人群
    source: { kind: district_window, stream: population, indicator: present }
    condition: { type: rate_of_change, direction: rise, over: 15m, fire: 0.3, clear: 0.1, min_base: 500 }
`),
    );
    const present = [
      ...Array(30).fill(10_000),
      ...Array.from({ length: 15 }, (_, i) => 10_000 + i * 300),
      ...Array(40).fill(14_200),
    ];
    const messages = present.map(
      (value, i): AggregateMessage => ({
        ...windowPartial({
          district: '440303',
          start: T0 + i * MINUTE,
          partition: 0,
          events: 10,
          stream: 'population',
        }),
        present: value,
      }),
    );
    const out = run(evaluator, messages);
    expect(out.map((t) => t.type)).toEqual(['firing', 'resolved']);
    expect(out[0]?.value).toBeGreaterThanOrEqual(0.3);
    expect(out[0]?.started_at).toBe(T0 + 40 * MINUTE);
  });

  it('watches every H3 cell on its own', () => {
    const evaluator = new AlertEvaluator(
      configOf(`  - id: dense
    severity: critical
    title_en: 'Dense crowd in {cell}'
    title_zh: '{cell}人员密集'
    source: { kind: population_cells, indicator: present }
    condition: { type: threshold, direction: above, fire: 8000, clear: 6500 }
`),
    );
    const cells = (ts: number, a: number, b: number): AggregateMessage => ({
      kind: 'population_cells',
      partition: 0,
      ts,
      cells: [
        { cell: '88411c0001fffff', present: a, inflow: 0, outflow: 0, ts, district: '440304' },
        { cell: '88411c0003fffff', present: b, inflow: 0, outflow: 0, ts, district: '440305' },
      ],
    });
    const out = run(evaluator, [
      cells(T0, 100, 9000),
      cells(T0 + MINUTE, 8500, 7000),
      cells(T0 + 2 * MINUTE, 8100, 6000),
    ]);
    expect(out.map((t) => [t.type, t.cell, t.district])).toEqual([
      ['firing', '88411c0003fffff', '440305'],
      ['firing', '88411c0001fffff', '440304'],
      ['resolved', '88411c0003fffff', '440305'],
    ]);
    expect(out[0]?.title_en).toBe('Dense crowd in 88411c0003fffff');
  });
});

describe('AlertEvaluator: incidents seen by many sources', () => {
  const rule = `  - id: crowd-incident
    severity: critical
    title_en: '{category} in {district_en} near {value} people'
    title_zh: '{district_zh}{category}'
    source: { kind: incident_impact, indicator: people_present, min_severity: 3 }
    condition: { type: threshold, direction: above, fire: 2000 }
    grouping: { radius_m: 500, window: 30m, resolve_after: 1h }
    cooldown: 15m
`;
  const impact = (
    id: string,
    minute: number,
    lat: number,
    lon: number,
    people: number,
    category = 'fire',
  ): AggregateMessage =>
    ({
      kind: 'incident_impact',
      incident_id: id,
      ts: T0 + minute * MINUTE,
      district: '440304',
      category,
      severity: 4,
      lat,
      lon,
      radius_m: 500,
      band_ms: 300_000,
      vehicles: 10,
      nearest_vehicles: [],
      people_present: people,
    }) satisfies IncidentImpactMessage;

  it('groups nearby reports into one alert and resolves it when all are closed', () => {
    const evaluator = new AlertEvaluator(configOf(rule));
    const out = run(evaluator, [
      impact('inc-1', 0, 22.5431, 114.0579, 2500),
      impact('inc-2', 2, 22.5433, 114.0582, 2600), // 40 m away
      impact('inc-3', 4, 22.544, 114.0575, 2400), // 110 m
      impact('inc-4', 5, 22.5431, 114.0579, 3000, 'flood'), // other category: its own alert
      impact('inc-5', 6, 22.58, 114.0579, 2500), // 4 km away: its own alert
      {
        kind: 'incident',
        id: 'r1',
        incident_id: 'inc-1',
        ts: T0 + 10 * MINUTE,
        category: 'fire',
        severity: 4,
        status: 'closed',
        lat: 0,
        lon: 0,
        district: '440304',
        cell: 'x',
        source: null,
        description: null,
        reporter: null,
      },
      {
        kind: 'incident',
        id: 'r2',
        incident_id: 'inc-2',
        ts: T0 + 11 * MINUTE,
        category: 'fire',
        severity: 4,
        status: 'closed',
        lat: 0,
        lon: 0,
        district: '440304',
        cell: 'x',
        source: null,
        description: null,
        reporter: null,
      },
      {
        kind: 'incident',
        id: 'r3',
        incident_id: 'inc-3',
        ts: T0 + 12 * MINUTE,
        category: 'fire',
        severity: 4,
        status: 'closed',
        lat: 0,
        lon: 0,
        district: '440304',
        cell: 'x',
        source: null,
        description: null,
        reporter: null,
      },
    ]);
    expect(out.map((t) => [t.type, t.category, t.sources])).toEqual([
      ['firing', 'fire', 1],
      ['firing', 'flood', 1],
      ['firing', 'fire', 1],
      ['resolved', 'fire', 3],
    ]);
    expect(out[3]?.alert_id).toBe(out[0]?.alert_id);
    expect(out[3]?.value).toBe(2600);
    expect(out[3]?.resolved_at).toBe(T0 + 12 * MINUTE);
  });

  it('resolves after resolve_after without reports, and holds back a repeat during the cooldown', () => {
    const evaluator = new AlertEvaluator(configOf(rule));
    const out = run(evaluator, [
      impact('inc-1', 0, 22.5431, 114.0579, 2500),
      { kind: 'watermark', stream: 'events', partition: 0, watermark: T0 + 61 * MINUTE, at: 0 },
      impact('inc-9', 65, 22.5432, 114.0579, 2500), // same place, within the 15 min cooldown
      impact('inc-10', 80, 22.5432, 114.0579, 2500), // after it
    ]);
    expect(out.map((t) => [t.type, (t.at - T0) / MINUTE])).toEqual([
      ['firing', 0],
      ['resolved', 60],
      ['firing', 80],
    ]);
  });
});

describe('AlertEvaluator: determinism, snapshots and reloads', () => {
  const rules = `${SPEED_RULE('{ type: threshold, direction: below, fire: 12, clear: 16, for: 2 }')}  - id: surge
    severity: warning
    title_en: surge
    title_zh: 激增
    source: { kind: district_window, stream: transport, indicator: events }
    condition: { type: anomaly, baseline: { kind: rolling, samples: 30, min_samples: 10 }, z_fire: 4, z_clear: 2 }
`;

  it('gives the same transitions whether or not it restarts from a snapshot (property)', () => {
    const config = configOf(rules);
    const messages = [
      ...transportDays({
        from: T0,
        days: 0.1,
        seed: 5,
        partitions: 3,
        surge: { district: '440306', start: T0 + 80 * MINUTE, minutes: 6, factor: 4 },
      }),
    ];
    const straight = run(new AlertEvaluator(config), messages);
    expect(straight.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: messages.length }), (split) => {
        const first = new AlertEvaluator(config);
        const before = run(first, messages.slice(0, split));
        const snapshot = JSON.parse(JSON.stringify(first.snapshot()));
        const second = AlertEvaluator.restore(config, snapshot);
        const after = run(second, messages.slice(split));
        expect([...before, ...after]).toEqual(straight);
      }),
      { numRuns: 25 },
    );
  });

  it('resolves the alerts of a removed rule on reload and keeps those of an unchanged one', () => {
    const evaluator = new AlertEvaluator(configOf(rules));
    run(evaluator, series([10, 10, 10]));
    const active = evaluator.activeAlerts();
    expect(active.map((a) => a.rule)).toEqual(['slow']);
    // Title changed only: state kept, nothing resolved.
    expect(
      evaluator.setConfig(configOf(rules.replace("'Slow in {district_en}: {value} km/h'", 'Slow!'))),
    ).toEqual([]);
    expect(evaluator.activeAlerts()).toEqual(active);
    // Removed: resolved at the current event time.
    const resolved = evaluator.setConfig(configOf(rules.slice(rules.indexOf('  - id: surge'))));
    expect(resolved).toMatchObject([
      { type: 'resolved', rule: 'slow', alert_id: active[0]?.alert_id, resolved_at: T0 + 3 * MINUTE },
    ]);
    expect(evaluator.activeAlerts()).toEqual([]);
  });
});
