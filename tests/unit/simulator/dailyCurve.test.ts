import { describe, expect, it } from 'vitest';
import {
  activityAtHour,
  dailyActivity,
  shanghaiHourOfDay,
  shanghaiMidnight,
} from '../../../engine/simulator/dailyCurve.ts';

describe('dailyCurve', () => {
  const hours = Array.from({ length: 24 * 60 }, (_, m) => (m + 0.5) / 60);
  const values = hours.map(activityAtHour);

  it('averages 1 over the day', () => {
    expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(1, 4);
  });

  it('is low at night and peaks in the morning and evening commutes', () => {
    const at = (h: number) => activityAtHour(h);
    const argmax = (from: number, to: number) => {
      let best = from;
      for (let h = from; h < to; h += 1 / 60) if (at(h) > at(best)) best = h;
      return best;
    };
    const minimum = Math.min(...values);
    expect(minimum).toBeLessThan(0.3);
    expect(hours[values.indexOf(minimum)]!).toBeGreaterThan(1);
    expect(hours[values.indexOf(minimum)]!).toBeLessThan(5);
    expect(argmax(5, 12)).toBeGreaterThan(7.75);
    expect(argmax(5, 12)).toBeLessThan(8.75);
    expect(argmax(12, 23)).toBeGreaterThan(17.75);
    expect(argmax(12, 23)).toBeLessThan(18.75);
    expect(at(8.3)).toBeGreaterThan(2);
    expect(at(18.2)).toBeGreaterThan(1.9);
    expect(at(13)).toBeGreaterThan(1);
    expect(at(13)).toBeLessThan(at(8.3));
    expect(at(3)).toBeLessThan(0.35);
  });

  it('reads the hour in Asia/Shanghai (UTC+8), whatever the machine zone', () => {
    const ts = Date.parse('2026-11-26T08:15:00+08:00');
    expect(shanghaiHourOfDay(ts)).toBe(8.25);
    expect(dailyActivity(ts)).toBe(activityAtHour(8.25));
    expect(shanghaiMidnight(ts)).toBe(Date.parse('2026-11-26T00:00:00+08:00'));
    expect(shanghaiMidnight(Date.parse('2026-11-25T23:59:59Z'))).toBe(
      Date.parse('2026-11-26T00:00:00+08:00'),
    );
  });
});
