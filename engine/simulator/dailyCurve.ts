/**
 * The city's daily activity curve: how busy Shenzhen is at a given moment, relative to the day's mean.
 *
 * Local time is Asia/Shanghai (UTC+8 all year: China has no daylight saving time). With `h` the local hour
 * of day as a fraction (08:15 is 8.25) and `g(h, mu, sigma) = exp(-d(h, mu)^2 / (2 sigma^2))`, where
 * `d` is the distance in hours around the 24 h clock:
 *
 * ```
 * raw(h) = 0.12                     night floor
 *        + 0.62 * g(h, 13.0, 4.2)   the working day
 *        + 0.95 * g(h,  8.25, 0.9)  morning commute
 *        + 0.85 * g(h, 18.25, 1.2)  evening commute
 *        + 0.12 * g(h, 22.0,  2.5)  evening leisure
 * dailyActivity(t) = raw(h) / mean of raw over the day
 * ```
 *
 * so the mean over a day is exactly 1. Its minimum is about 0.28 at 02:30; it peaks at about 2.27 at 08:20
 * and 2.10 at 18:10 and stays near 1.1-1.2 through the working day (docs/simulator.md tabulates it).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Asia/Shanghai's offset from UTC, in milliseconds. */
export const SHANGHAI_OFFSET_MS = 8 * HOUR_MS;

/** The terms of the curve: [weight, mean hour, sigma in hours]. */
const TERMS: ReadonlyArray<readonly [number, number, number]> = [
  [0.62, 13.0, 4.2],
  [0.95, 8.25, 0.9],
  [0.85, 18.25, 1.2],
  [0.12, 22.0, 2.5],
];
const FLOOR = 0.12;

function raw(hour: number): number {
  let value = FLOOR;
  for (const [weight, mu, sigma] of TERMS) {
    let d = Math.abs(hour - mu);
    if (d > 12) d = 24 - d;
    value += weight * Math.exp(-(d * d) / (2 * sigma * sigma));
  }
  return value;
}

// The mean of raw() over the day, by the midpoint rule over 1-second steps (exact to ~1e-9).
const MEAN = (() => {
  let sum = 0;
  const steps = 86_400;
  for (let i = 0; i < steps; i++) sum += raw(((i + 0.5) * 24) / steps);
  return sum / steps;
})();

/** The local hour of day in Asia/Shanghai, in [0, 24), e.g. 8.25 for 08:15. */
export function shanghaiHourOfDay(ts: number): number {
  const msOfDay = (((ts + SHANGHAI_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  return msOfDay / HOUR_MS;
}

/** Activity at local hour `hour` relative to the daily mean (mean over a day = 1). */
export function activityAtHour(hour: number): number {
  return raw(hour) / MEAN;
}

/**
 * Activity at epoch-ms time `ts`, relative to the daily mean (1 = an average moment of the day).
 *
 * @example
 * dailyActivity(Date.parse('2026-11-26T02:30:00+08:00')); // about 0.28
 * dailyActivity(Date.parse('2026-11-26T08:20:00+08:00')); // about 2.27
 */
export function dailyActivity(ts: number): number {
  return activityAtHour(shanghaiHourOfDay(ts));
}

/** Midnight (00:00 Asia/Shanghai) of the local day that contains `ts`, in epoch ms. */
export function shanghaiMidnight(ts: number): number {
  return ts - Math.round(shanghaiHourOfDay(ts) * HOUR_MS);
}
