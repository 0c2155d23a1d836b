/**
 * Exponentially weighted mean and variance (West's incremental form), the building block of the anomaly
 * rules' baselines. `n` counts the samples; until `n` reaches `1 / alphaFloor` every sample weighs the same,
 * so the first estimates are plain means and variances. Plain data, so snapshots are JSON.
 */
export interface WeightedStats {
  n: number;
  mean: number;
  variance: number;
}

/** Adds `value` to `stats` in place, with weight max(1 / n, alphaFloor). */
export function addSample(stats: WeightedStats, value: number, alphaFloor: number): void {
  stats.n += 1;
  const alpha = Math.max(1 / stats.n, alphaFloor);
  const diff = value - stats.mean;
  const increment = alpha * diff;
  stats.mean += increment;
  stats.variance = stats.n === 1 ? 0 : (1 - alpha) * (stats.variance + diff * increment);
}

/** A baseline's answer for one observation: the expected value and its spread, or undefined when not ready. */
export interface BaselineEstimate {
  readonly mean: number;
  readonly stddev: number;
}

/** Settings of a time-of-day baseline, resolved (all in ms or counts). */
export interface TimeOfDaySettings {
  readonly kind: 'time_of_day';
  readonly slot: number;
  readonly days: number;
  readonly min_days: number;
  readonly samples_per_slot?: number | undefined;
}

/** Settings of a rolling baseline. */
export interface RollingSettings {
  readonly kind: 'rolling';
  readonly samples: number;
  readonly min_samples: number;
}

export type BaselineSettings = TimeOfDaySettings | RollingSettings;

/** Serialisable baseline state: one `WeightedStats` per time-of-day slot, or a single one for rolling. */
export type BaselineState = Record<string, WeightedStats>;

const DAY_MS = 86_400_000;

function slotOf(settings: BaselineSettings, ts: number): string {
  if (settings.kind === 'rolling') return 'all';
  return String(Math.floor((((ts % DAY_MS) + DAY_MS) % DAY_MS) / settings.slot));
}

function samplesPerSlot(settings: TimeOfDaySettings): number {
  return settings.samples_per_slot ?? Math.max(1, Math.round(settings.slot / 60_000));
}

/**
 * The baseline at event time `ts`: for `time_of_day`, what the same slot of the day looked like on the
 * previous `days` days (exponentially weighted); for `rolling`, the recent `samples` observations.
 * Undefined until enough history was seen (`min_days` of the slot, or `min_samples`).
 */
export function estimate(
  state: BaselineState,
  settings: BaselineSettings,
  ts: number,
): BaselineEstimate | undefined {
  const stats = state[slotOf(settings, ts)];
  if (!stats) return undefined;
  const needed =
    settings.kind === 'rolling' ? settings.min_samples : settings.min_days * samplesPerSlot(settings);
  if (stats.n < needed) return undefined;
  return { mean: stats.mean, stddev: Math.sqrt(Math.max(0, stats.variance)) };
}

/** Learns `value` observed at event time `ts`. */
export function learn(state: BaselineState, settings: BaselineSettings, ts: number, value: number): void {
  const slot = slotOf(settings, ts);
  let stats = state[slot];
  if (!stats) {
    stats = { n: 0, mean: 0, variance: 0 };
    state[slot] = stats;
  }
  const memory = settings.kind === 'rolling' ? settings.samples : settings.days * samplesPerSlot(settings);
  addSample(stats, value, 1 / memory);
}
