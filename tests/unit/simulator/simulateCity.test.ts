import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord, RECORD_FAULTS } from '../../../engine/contract/decodeRecord.ts';
import { shenzhenDistricts } from '../../../engine/geo/shenzhenDistricts.ts';
import { activityAtHour, shanghaiHourOfDay } from '../../../engine/simulator/dailyCurve.ts';
import { OUTSIDE, type SimulatedMessage, simulateCity } from '../../../engine/simulator/simulateCity.ts';
import type { SimulationOptionsInput } from '../../../engine/simulator/simulationOptions.ts';

const START = '2026-11-26T07:50:00+08:00';
const SURGE_START = Date.parse('2026-11-26T08:00:00+08:00');
const BASE: SimulationOptionsInput = {
  seed: 7,
  start: START,
  duration: '20m',
  events: 25_000,
  badRatio: 0.05,
  duplicateRatio: 0.03,
  outsideRatio: 0.01,
};
const SURGE = 'district=440304,start=2026-11-26T08:00:00+08:00,minutes=5,factor=5';

const { index } = shenzhenDistricts();
let messages: SimulatedMessage[];

beforeAll(() => {
  messages = [...simulateCity(BASE)];
});

function parse(message: SimulatedMessage): Record<string, unknown> {
  return JSON.parse(message.value) as Record<string, unknown>;
}

describe('simulateCity', () => {
  it('is deterministic: same options, the same messages byte for byte; another seed, others', () => {
    const digest = (list: Iterable<SimulatedMessage>) => {
      const hash = createHash('sha256');
      let count = 0;
      for (const m of list) {
        hash.update(`${m.stream}\u0000${m.key}\u0000${m.value}\u0000`);
        count++;
      }
      return `${count}:${hash.digest('hex')}`;
    };
    expect(digest(simulateCity(BASE))).toBe(digest(messages));
    expect(digest(simulateCity({ ...BASE, seed: 8 }))).not.toBe(digest(messages));
  });

  it('publishes exactly `events` records (valid or broken), plus resends', () => {
    const original = messages.filter((m) => m.kind !== 'duplicate');
    expect(original).toHaveLength(25_000);
    const duplicates = messages.filter((m) => m.kind === 'duplicate').length;
    const valid = messages.filter((m) => m.kind === 'valid').length;
    expect(duplicates / valid).toBeGreaterThan(0.02);
    expect(duplicates / valid).toBeLessThan(0.04);
    const start = Date.parse(START);
    expect(messages.filter((m) => m.ts < start || m.ts >= start + 20 * 60_000)).toEqual([]);
  });

  it('mixes the streams about 80 % transport, 17 % population, 3 % events', () => {
    const share = (stream: string) =>
      messages.filter((m) => m.stream === stream && m.kind !== 'duplicate').length / 25_000;
    expect(share('transport')).toBeCloseTo(0.8, 1);
    expect(share('population')).toBeCloseTo(0.17, 1);
    expect(share('events')).toBeGreaterThan(0.02);
    expect(share('events')).toBeLessThan(0.04);
  });

  it('valid records pass the contract; their district is what the district index says', () => {
    const wrong: string[] = [];
    for (const m of messages.filter((x) => x.kind !== 'invalid')) {
      const decoded = decodeRecord(m.stream, m.value, undefined);
      const { lat, lon } = (decoded.ok ? decoded.record : {}) as { lat: number; lon: number };
      if (!decoded.ok) wrong.push(`rejected (${decoded.reason}): ${m.value}`);
      else if (decoded.ts !== m.ts) wrong.push(`ts ${decoded.ts} != ${m.ts}`);
      // Published JSON is canonical: parsing and serialising again gives the same bytes.
      else if (JSON.stringify(JSON.parse(m.value)) !== m.value) wrong.push(`not canonical: ${m.value}`);
      else if ((index.lookup(lon, lat) ?? OUTSIDE) !== m.district)
        wrong.push(`district ${m.district}: ${m.value}`);
    }
    expect(wrong).toEqual([]);
  });

  it('broken records fail the contract with exactly the intended reason, every record fault present', () => {
    const invalid = messages.filter((m) => m.kind === 'invalid');
    expect(invalid.length / 25_000).toBeCloseTo(0.05, 1);
    const wrong = invalid
      .map((m) => ({ m, decoded: decodeRecord(m.stream, m.value, undefined) }))
      .filter(({ m, decoded }) => (decoded.ok ? 'accepted' : decoded.reason) !== m.deadLetterReason)
      .map(({ m }) => `${m.deadLetterReason}: ${m.value.slice(0, 200)}`);
    expect(wrong).toEqual([]);
    expect(new Set(invalid.map((m) => m.deadLetterReason))).toEqual(new Set(RECORD_FAULTS));
  });

  it('positions lie inside the district boundaries, except a small share just outside', () => {
    const located = messages.filter((m) => m.kind === 'valid' && m.stream !== 'population');
    const outside = located.filter((m) => m.district === OUTSIDE);
    expect(outside.length / located.length).toBeGreaterThan(0.005);
    expect(outside.length / located.length).toBeLessThan(0.02);
    const [minLng, minLat, maxLng, maxLat] = index.bbox;
    const misplaced = outside.filter((m) => {
      const { lat, lon } = parse(m) as { lat: number; lon: number };
      // "Just outside": in no district, within about 5 km of the city's bounding box.
      const near = lon > minLng - 0.05 && lon < maxLng + 0.05 && lat > minLat - 0.05 && lat < maxLat + 0.05;
      return index.lookup(lon, lat) !== null || !near;
    });
    expect(misplaced).toEqual([]);
    expect(messages.filter((x) => x.stream === 'population' && x.district === OUTSIDE)).toEqual([]);
    const districts = new Set(located.map((m) => m.district));
    expect(districts.size).toBe(9);
  });

  it('keys messages by vehicle, incident and H3 cell; ids are unique', () => {
    const ids = new Set<string>();
    const wrong: string[] = [];
    for (const m of messages.filter((x) => x.kind === 'valid')) {
      const record = parse(m);
      const field = m.stream === 'transport' ? 'vehicle' : m.stream === 'events' ? 'incident_id' : 'h3';
      if (m.key !== record[field]) wrong.push(`key ${m.key}: ${m.value}`);
      if (ids.has(record['id'] as string)) wrong.push(`id again: ${m.value}`);
      if (!/^[tpe]-7-\d+$/.test(record['id'] as string)) wrong.push(`id form: ${m.value}`);
      ids.add(record['id'] as string);
    }
    expect(wrong).toEqual([]);
  });

  it('resends a record with the same key and the same bytes, after the original', () => {
    const firstAt = new Map<string, number>();
    messages.forEach((m, i) => {
      if (m.kind === 'valid') firstAt.set(m.value, i);
    });
    const duplicates = messages.map((m, i) => ({ m, i })).filter(({ m }) => m.kind === 'duplicate');
    expect(duplicates.length).toBeGreaterThan(0);
    const wrong = duplicates.filter(({ m, i }) => {
      const original = firstAt.get(m.value);
      return original === undefined || original >= i || messages[original]!.key !== m.key;
    });
    expect(wrong).toEqual([]);
  });

  it('keeps publication order within maxDelayMs of event-time order', () => {
    const disorder = (list: SimulatedMessage[]) => {
      let newest = Number.NEGATIVE_INFINITY;
      let worst = 0;
      for (const m of list) {
        worst = Math.max(worst, newest - m.ts);
        newest = Math.max(newest, m.ts);
      }
      return worst;
    };
    expect(disorder(messages)).toBeLessThanOrEqual(2_000);
    expect(disorder(messages)).toBeGreaterThan(500);
    const ordered = [...simulateCity({ ...BASE, events: 5_000, maxDelayMs: 0 })];
    expect(disorder(ordered)).toBe(0);
    const loose = [...simulateCity({ ...BASE, events: 5_000, maxDelayMs: 4_000 })];
    expect(disorder(loose)).toBeLessThanOrEqual(4_000);
  });

  it('population: each cell report carries the flows since its previous one', () => {
    const last = new Map<string, number>();
    let checked = 0;
    const wrong: string[] = [];
    for (const m of messages.filter((x) => x.stream === 'population' && x.kind === 'valid')) {
      const r = parse(m) as { h3: string; present: number; inflow: number; outflow: number };
      const previous = last.get(r.h3);
      if (previous !== undefined) {
        if (r.present !== previous + r.inflow - r.outflow) wrong.push(`${previous} -> ${m.value}`);
        checked++;
      }
      last.set(r.h3, r.present);
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  it('incidents open, then close with the same incident_id, place, category and severity', () => {
    const long = [...simulateCity({ seed: 7, start: START, duration: '3h', events: 30_000 })];
    const opened = new Map<string, Record<string, unknown>>();
    let closed = 0;
    let withReporter = 0;
    const wrong: string[] = [];
    for (const m of long.filter((x) => x.stream === 'events')) {
      const r = parse(m);
      if (r['status'] === 'open') {
        opened.set(r['incident_id'] as string, r);
        const reporter = r['reporter'] as { name: string; phone?: string; id_number?: string } | undefined;
        if (reporter === undefined) continue;
        withReporter++;
        const wellFormed =
          /^[\u4e00-\u9fff]{2,3}$/.test(reporter.name) &&
          (reporter.phone === undefined || /^1[3-9]\d{9}$/.test(reporter.phone)) &&
          (reporter.id_number === undefined || /^\d{17}[\dX]$/.test(reporter.id_number));
        if (!wellFormed) wrong.push(`reporter ${JSON.stringify(reporter)}`);
      } else {
        const open = opened.get(r['incident_id'] as string);
        const same =
          open !== undefined && ['category', 'severity', 'lat', 'lon'].every((f) => r[f] === open[f]);
        if (!same || (r['ts'] as number) <= (open['ts'] as number) || r['reporter'] !== undefined) {
          wrong.push(`closing ${m.value} of ${JSON.stringify(open)}`);
        }
        closed++;
      }
    }
    expect(wrong).toEqual([]);
    expect(closed).toBeGreaterThan(opened.size * 0.3);
    expect(withReporter / opened.size).toBeGreaterThan(0.35);
    expect(withReporter / opened.size).toBeLessThan(0.65);
    const severities = new Set([...opened.values()].map((r) => r['severity']));
    expect(severities).toEqual(new Set([1, 2, 3, 4, 5]));
  });

  it('follows the daily curve: quiet at night, busiest in the commutes', () => {
    const day = [...simulateCity({ seed: 7, start: '2026-11-26T00:00:00+08:00', events: 72_000 })];
    const perHour = new Array<number>(24).fill(0);
    for (const m of day) perHour[Math.floor(shanghaiHourOfDay(m.ts))]!++;
    const mean = 72_000 / 24;
    expect(perHour[3]! / mean).toBeLessThan(0.4);
    expect(perHour[8]! / mean).toBeGreaterThan(1.8);
    expect(perHour[18]! / mean).toBeGreaterThan(1.7);
    expect(perHour[13]! / mean).toBeGreaterThan(0.9);
    // The generated counts follow the documented curve within sampling noise.
    for (let h = 0; h < 24; h++) {
      let expected = 0;
      for (let m = 0; m < 60; m++) expected += activityAtHour(h + (m + 0.5) / 60) / 60;
      expect(perHour[h]! / mean).toBeCloseTo(expected, 1);
    }
  });

  it('moves metro trains at plausible speeds along their lines', () => {
    const positions = new Map<string, { ts: number; lat: number; lon: number }>();
    const speeds: number[] = [];
    for (const m of messages.filter((x) => x.kind === 'valid' && x.key.startsWith('metro-'))) {
      const r = parse(m) as { lat: number; lon: number };
      const before = positions.get(m.key);
      if (before !== undefined && m.ts - before.ts > 10_000) {
        const meters = Math.hypot((r.lat - before.lat) * 110_750, (r.lon - before.lon) * 102_780);
        speeds.push((meters / (m.ts - before.ts)) * 3_600);
      }
      positions.set(m.key, { ts: m.ts, lat: r.lat, lon: r.lon });
    }
    speeds.sort((a, b) => a - b);
    const median = speeds[Math.floor(speeds.length / 2)]!;
    expect(speeds.length).toBeGreaterThan(100);
    expect(median).toBeGreaterThan(15);
    expect(median).toBeLessThan(60);
  });

  it('a surge multiplies the district transport and incidents, leaving the normal stream as it was', () => {
    const surged = [...simulateCity({ ...BASE, badRatio: 0, duplicateRatio: 0, surge: [SURGE] })];
    const plain = [...simulateCity({ ...BASE, badRatio: 0, duplicateRatio: 0 })];
    const inSurge = (m: SimulatedMessage) =>
      m.district === '440304' && m.ts >= SURGE_START && m.ts < SURGE_START + 5 * 60_000;
    for (const stream of ['transport', 'events'] as const) {
      const before = plain.filter((m) => m.stream === stream && inSurge(m)).length;
      const after = surged.filter((m) => m.stream === stream && inSurge(m)).length;
      const opened = (list: SimulatedMessage[]) =>
        list.filter((m) => m.stream === stream && inSurge(m) && m.facts?.status !== 'closed').length;
      expect(before).toBeGreaterThan(0);
      if (stream === 'transport') expect(after / before).toBeCloseTo(5, 1);
      else expect(opened(surged) / opened(plain)).toBeCloseTo(5, 0);
    }
    expect(surged.filter((m) => m.surge).every((m) => m.district === '440304')).toBe(true);
    expect(surged.filter((m) => !m.surge).map((m) => m.value)).toEqual(plain.map((m) => m.value));
    // After the surge the district's transport is as before (its incidents still close one by one).
    const afterSurge = (list: SimulatedMessage[]) =>
      list.filter(
        (m) => m.stream === 'transport' && m.district === '440304' && m.ts >= SURGE_START + 6 * 60_000,
      ).length;
    expect(afterSurge(surged)).toBe(afterSurge(plain));
  });

  it('live: rate from the daily curve at that time of day, ids tagged with the start', () => {
    const start = Date.parse('2026-11-26T08:00:00+08:00');
    const live = [...simulateCity({ live: true, start, duration: '60s', rate: 100, seed: 7, maxDelayMs: 0 })];
    const expected = 100 * activityAtHour(8.0083) * 60;
    expect(live.length).toBeGreaterThan(expected * 0.97);
    expect(live.length).toBeLessThan(expected * 1.03);
    expect(JSON.parse(live[0]!.value).id).toBe(`${live[0]!.stream[0]}-7.${(start / 1000).toString(36)}-0`);
    const stopAt = [...simulateCity({ live: true, start, events: 500, seed: 7 })];
    expect(stopAt.length).toBe(500);
  });
});
