import type { History } from '../../engine/server/historyQuery.ts';

/** History of the chosen window, arranged per minute for the replay. */
export interface Replay {
  minutes: number[];
  /** minute -> district -> indicator values */
  values: Map<
    number,
    Map<string, { records_per_min: number; congestion: number | null; people_present: number }>
  >;
  notes: string[];
}

/** Fetches `/api/history` and arranges it per minute. A missing table gives an empty replay with its note. */
export async function loadReplay(minutes: number, token: string, freeFlowKmh = 50): Promise<Replay> {
  const response = await fetch(`/api/history?minutes=${minutes}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!response.ok)
    return { minutes: [], values: new Map(), notes: [`${response.status}: ${await response.text()}`] };
  const history = (await response.json()) as History;
  const values: Replay['values'] = new Map();
  const cell = (t: number, district: string) => {
    let byDistrict = values.get(t);
    if (!byDistrict) {
      byDistrict = new Map();
      values.set(t, byDistrict);
    }
    let v = byDistrict.get(district);
    if (!v) {
      v = { records_per_min: 0, congestion: null, people_present: 0 };
      byDistrict.set(district, v);
    }
    return v;
  };
  for (const row of history.districtMinute ?? []) cell(row.t, row.district).records_per_min += row.events;
  for (const row of history.districtPulse ?? []) {
    const v = cell(row.t, row.district);
    v.people_present = row.people_present;
    v.congestion =
      row.mean_speed_kmh === null ? null : Math.min(1, Math.max(0, 1 - row.mean_speed_kmh / freeFlowKmh));
  }
  const notes = Object.entries(history.sources ?? {})
    .filter(([, s]) => !s.available)
    .map(([name, s]) => `${name}: ${s.note ?? 'unavailable'}`);
  return { minutes: [...values.keys()].sort((a, b) => a - b), values, notes };
}
