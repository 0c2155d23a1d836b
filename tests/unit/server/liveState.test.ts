import { cellToParent, gridDisk, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { type AggregateMessage, districtWindowMessage } from '../../../engine/contract/aggregates.ts';
import { LiveState } from '../../../engine/server/liveState.ts';

const DISTRICTS = ['440303', '440304'];

function publishedState(state: LiveState): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  state.flush(0, () => {});
  for (const topic of state.topics()) {
    const snapshot = JSON.parse(state.channel(topic).snapshot(0)) as { entities: Array<[string, unknown]> };
    out.set(topic, new Map(snapshot.entities));
  }
  return out;
}

function vehicles(...list: Array<[string, string, number]>): AggregateMessage {
  return {
    kind: 'vehicle_positions',
    partition: 0,
    ts: 1000,
    vehicles: list.map(([vehicle, district, ts]) => ({
      vehicle,
      mode: 'bus',
      lat: 22.54,
      lon: 114.05,
      ts,
      speed_kmh: 31.26,
      district,
    })),
  };
}

describe('LiveState', () => {
  it('moves a vehicle between district topics and ignores older positions', () => {
    const state = new LiveState(DISTRICTS);
    state.apply(vehicles(['V1', '440304', 1000]), 1);
    state.apply(vehicles(['V1', '440303', 2000]), 2);
    state.apply(vehicles(['V1', '440304', 1500]), 3); // late: older than what we have
    const topics = publishedState(state);
    expect(topics.get('vehicles/440304')?.size ?? 0).toBe(0);
    expect(topics.get('vehicles/440303')?.get('V1')).toEqual([114.05, 22.54, 'bus', 31.3, 2000]);
  });

  it('sums cells into coarser H3 resolutions and keeps the parents right when a cell changes', () => {
    const state = new LiveState(DISTRICTS, { cellResolutions: [7] });
    const a = latLngToCell(22.54, 114.05, 9);
    const parent = cellToParent(a, 7);
    const b = gridDisk(a, 1).find((c) => c !== a && cellToParent(c, 7) === parent)!;
    expect(cellToParent(b, 7)).toBe(parent);
    const cells = (present: [number, number], ts: number): AggregateMessage => ({
      kind: 'population_cells',
      partition: 0,
      ts,
      cells: [
        { cell: a, present: present[0], inflow: 1, outflow: 0, ts, district: '440304' },
        { cell: b, present: present[1], inflow: 0, outflow: 2, ts, district: '440304' },
      ],
    });
    state.apply(cells([100, 50], 1000), 1);
    state.apply(cells([120, 10], 2000), 2);
    const topics = publishedState(state);
    expect(topics.get('cells/9/440304')?.get(a)).toEqual([120, 1, 0]);
    expect(topics.get('cells/7/440304')?.get(parent)).toEqual([130, 1, 2]);
    expect(state.resolutions()).toEqual([7, 9]);
  });

  it('merges an incident with its impact and never publishes the reporter', () => {
    const state = new LiveState(DISTRICTS);
    state.apply(
      {
        kind: 'incident',
        id: 'r1',
        incident_id: 'I1',
        ts: 1000,
        category: 'fire',
        severity: 4,
        status: 'open',
        lat: 22.54,
        lon: 114.05,
        district: '440304',
        cell: '89411c0a0a3ffff',
        source: null,
        description: 'smoke, call 138****8000',
        reporter: { name: '张*', phone: '138****8000', id_number: null },
      },
      1,
    );
    state.apply(
      {
        kind: 'incident_impact',
        incident_id: 'I1',
        ts: 1100,
        district: '440304',
        category: 'fire',
        severity: 4,
        lat: 22.54,
        lon: 114.05,
        radius_m: 500,
        band_ms: 300_000,
        vehicles: 12,
        nearest_vehicles: [{ vehicle: 'V9', mode: 'taxi', distance_m: 40 }],
        people_present: 800,
      },
      2,
    );
    const incident = publishedState(state).get('incidents/440304')?.get('I1') as Record<string, unknown>;
    expect(incident).toMatchObject({ status: 'open', impact: { vehicles: 12, people_present: 800 } });
    expect(JSON.stringify(incident)).not.toContain('张');
    expect(incident).not.toHaveProperty('reporter');
  });

  it('shows the last minute closed by the watermark, summed over partitions', () => {
    const state = new LiveState(DISTRICTS);
    const window = (partition: number, start: number, events: number, revision = 1): AggregateMessage =>
      districtWindowMessage({
        stream: 'transport',
        district: '440304',
        window_start: start,
        partition,
        revision,
        events,
        distinct_keys: events,
        speed_sum: events * 30,
        speed_count: events,
      });
    state.apply(window(0, 0, 10), 1);
    state.apply(window(1, 0, 5), 1);
    state.apply(window(0, 0, 3), 1); // a stale repeat of revision 1: ignored
    state.apply(window(0, 60_000, 7), 1);
    for (const partition of [0, 1])
      state.apply({ kind: 'watermark', stream: 'transport', partition, watermark: 61_000, at: 62_000 }, 1);
    const district = publishedState(state).get('districts')?.get('440304');
    expect(district).toMatchObject({ minute: 0, transport_per_min: 15, mean_speed_kmh: 30, congestion: 0.4 });
    const status = publishedState(state).get('status')?.get('transport');
    expect(status).toMatchObject({ watermark: 61_000, partitions: 2 });
  });

  it('keeps a resolved alert resolved and evicts it later', () => {
    const state = new LiveState(DISTRICTS, { resolvedAlertKeepMs: 0 });
    const base = {
      alert_id: 'A1',
      rule: 'r',
      severity: 'high',
      district: '440304',
      cell: null,
      title_en: 'Congestion',
      title_zh: '拥堵',
      value: 0.9,
      threshold: 0.8,
      started_at: 1,
      resolved_at: null,
    };
    state.applyAlert({ ...base, state: 'firing' }, 1);
    state.applyAlert({ ...base, state: 'resolved', title_zh: null, resolved_at: 5 }, 2);
    state.applyAlert({ ...base, state: 'firing' }, 3);
    const alert = publishedState(state).get('alerts')?.get('A1');
    expect(alert).toMatchObject({ state: 'resolved', title_zh: '拥堵', resolved_at: 5 });
    state.evict(Date.now() + 1000);
    expect(publishedState(state).get('alerts')?.size).toBe(0);
  });
});
