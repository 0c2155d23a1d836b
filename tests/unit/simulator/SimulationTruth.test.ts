import { describe, expect, it } from 'vitest';
import { formatTruth, SimulationTruth, TRUTH_FORMAT } from '../../../engine/simulator/SimulationTruth.ts';
import { type SimulatedMessage, simulateCity } from '../../../engine/simulator/simulateCity.ts';
import { byWindow, recountTruth } from './recountTruth.ts';

const OPTIONS = {
  seed: 11,
  start: '2026-11-26T17:55:00+08:00',
  duration: '12m',
  events: 20_000,
  badRatio: 0.04,
  duplicateRatio: 0.05,
  surge: ['district=Nanshan,start=2026-11-26T18:00:00+08:00,minutes=3,factor=4'],
};

describe('SimulationTruth', () => {
  const simulation = simulateCity(OPTIONS);
  const truth = new SimulationTruth(simulation.options);
  const published: SimulatedMessage[] = [];
  for (const message of simulation) {
    truth.add(message);
    published.push(message);
  }
  const file = truth.toJSON();
  const recount = recountTruth(published);

  it('equals an independent recount of the published bytes, window by window', () => {
    expect(file.totals.accepted).toBe(recount.accepted);
    expect(file.totals.duplicates).toBe(recount.duplicates);
    expect(file.dead_letters).toEqual(recount.deadLetters);
    const expected = byWindow(recount.windows);
    const actual = byWindow(file.windows);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, window] of expected) expect(actual.get(key), key).toEqual(window);
    expect(file.windows.reduce((sum, w) => sum + w.events, 0)).toBe(file.totals.accepted);
  });

  it('counts every message once: accepted + duplicates + invalid', () => {
    expect(file.totals.messages).toBe(published.length);
    expect(file.totals.accepted + file.totals.duplicates + file.totals.invalid).toBe(published.length);
    expect(file.totals.invalid).toBeGreaterThan(0);
    expect(file.totals.duplicates).toBeGreaterThan(0);
    expect(file.totals.surge).toBe(published.filter((m) => m.surge).length);
    for (const stream of ['transport', 'events', 'population'] as const) {
      const s = file.by_stream[stream];
      expect(s.messages).toBe(published.filter((m) => m.stream === stream).length);
      expect(Object.values(file.dead_letters[stream]).reduce((a, b) => a + b, 0)).toBe(s.invalid);
    }
  });

  it('has one row per stream, district and minute, sorted, with the engine window fields', () => {
    const keys = file.windows.map((w) => `${w.window_start}|${w.stream}|${w.district}`);
    expect(new Set(keys).size).toBe(keys.length);
    const sorted = [...file.windows].sort((a, b) => a.window_start - b.window_start);
    expect(file.windows.map((w) => w.window_start)).toEqual(sorted.map((w) => w.window_start));
    for (const w of file.windows) expect(w.window_start % 60_000).toBe(0);
    expect(Object.keys(file.windows[0]!).sort()).toEqual(
      [
        'closed',
        'distinct_keys',
        'district',
        'events',
        'inflow',
        'opened',
        'outflow',
        'present',
        'severe',
        'speed_count',
        'speed_sum',
        'stream',
        'window_start',
      ].sort(),
    );
  });

  it('is written as JSON with one window per line', () => {
    const text = formatTruth(file);
    expect(JSON.parse(text)).toEqual(file);
    expect(file.format).toBe(TRUTH_FORMAT);
    const windowLines = text.split('\n').filter((line) => line.startsWith('    {"stream"'));
    expect(windowLines).toHaveLength(file.windows.length);
    expect(file.options).toMatchObject({ seed: 11, start: '2026-11-26T17:55:00+08:00', events: 20_000 });
    expect(file.options.surges).toEqual([
      { district: '440305', start: '2026-11-26T18:00:00+08:00', minutes: 3, factor: 4 },
    ]);
  });

  it('holds nothing personal', () => {
    const text = formatTruth(file);
    // Phone and ID numbers would stand alone; 13-digit epoch times do not count.
    expect(text).not.toMatch(/reporter|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{17}[\dX](?!\d)|name/);
  });
});
