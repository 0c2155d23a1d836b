import type { RuleConfig } from './alertConfig.ts';
import { alertId } from './alertIdentity.ts';
import type { AlertTransition } from './alertTransition.ts';
import { type BaselineState, estimate, learn } from './baseline.ts';
import { renderTitle } from './renderTitle.ts';

/** One value of a rule's indicator for one key (district or cell), from one window or report. */
export interface Observation {
  /** e.g. `district:440304` or `cell:8840...`. */
  readonly key: string;
  readonly district?: string | undefined;
  readonly cell?: string | undefined;
  /** Window [start, end) in epoch ms; for point observations start = end = the report's time. */
  readonly start: number;
  readonly end: number;
  readonly value: number;
}

/** Serialisable per-(rule, key) state: streaks, the active alert, cooldown, history and baseline. */
export interface KeyedRuleState {
  lastStart: number;
  fireStreak: number;
  clearStreak: number;
  active?: { id: string; startedAt: number; value: number; threshold: number } | undefined;
  quietUntil: number;
  /** rate_of_change: recent (start, value) pairs, oldest first. */
  history?: Array<[number, number]>;
  baseline?: BaselineState;
  /** Observations whose firing was held back by the cooldown. */
  suppressed: number;
}

export function newKeyedRuleState(): KeyedRuleState {
  return {
    lastStart: Number.MIN_SAFE_INTEGER,
    fireStreak: 0,
    clearStreak: 0,
    quietUntil: Number.MIN_SAFE_INTEGER,
    suppressed: 0,
  };
}

interface Signal {
  fire: boolean;
  clear: boolean;
  threshold: number;
  reported: number;
  z?: number;
  mean?: number;
}

/**
 * Feeds one observation to a rule's state machine for one key and returns the lifecycle transition it
 * causes, if any. Pure apart from mutating `state`; event time only.
 *
 * - idle -> firing after `for` consecutive observations meeting the firing condition, unless the key is in
 *   its cooldown (then the firing waits until the cooldown ends and the condition still holds);
 * - firing -> resolved after `clear_for` consecutive observations meeting the clearing condition (the
 *   `clear` threshold of hysteresis), then a cooldown of `rule.cooldown` starts at the resolution;
 * - observations not newer than the last one for the key (replays, stragglers) change nothing.
 */
export function stepKeyedRule(
  rule: RuleConfig,
  state: KeyedRuleState,
  observation: Observation,
): AlertTransition | undefined {
  if (observation.start <= state.lastStart) return undefined;
  state.lastStart = observation.start;
  const signal = evaluate(rule, state, observation);
  if (signal === undefined) return undefined;
  const condition = rule.condition;
  if (state.active === undefined) {
    state.fireStreak = signal.fire ? state.fireStreak + 1 : 0;
    if (state.fireStreak < condition.for) return undefined;
    if (observation.start < state.quietUntil) {
      state.suppressed += 1;
      return undefined;
    }
    state.fireStreak = 0;
    state.clearStreak = 0;
    const id = alertId(rule.id, observation.key, observation.start);
    state.active = { id, startedAt: observation.start, value: signal.reported, threshold: signal.threshold };
    return transition(rule, 'firing', id, observation, signal, observation.start);
  }
  state.clearStreak = signal.clear ? state.clearStreak + 1 : 0;
  if (state.clearStreak < condition.clear_for) return undefined;
  const { id, startedAt } = state.active;
  state.active = undefined;
  state.clearStreak = 0;
  state.fireStreak = 0;
  const resolvedAt = Math.max(observation.end, observation.start);
  state.quietUntil = resolvedAt + rule.cooldown;
  return transition(rule, 'resolved', id, observation, signal, startedAt, resolvedAt);
}

function evaluate(rule: RuleConfig, state: KeyedRuleState, observation: Observation): Signal | undefined {
  const condition = rule.condition;
  const value = observation.value;
  switch (condition.type) {
    case 'threshold': {
      const clear = condition.clear ?? condition.fire;
      const above = condition.direction === 'above';
      return {
        fire: above ? value >= condition.fire : value <= condition.fire,
        clear: above ? value < clear : value > clear,
        threshold: condition.fire,
        reported: value,
      };
    }
    case 'rate_of_change': {
      state.history ??= [];
      const history = state.history;
      history.push([observation.start, value]);
      const reference = observation.start - condition.over;
      let before: number | undefined;
      while (history.length > 1 && history[1]![0] <= reference) history.shift();
      if (history[0]![0] <= reference) before = history[0]![1];
      if (before === undefined) return undefined;
      const delta = condition.direction === 'rise' ? value - before : before - value;
      const change =
        condition.change === 'relative' ? delta / Math.max(Math.abs(before), condition.min_base) : delta;
      const clear = condition.clear ?? condition.fire;
      return {
        fire: change >= condition.fire,
        clear: change < clear,
        threshold: condition.fire,
        reported: change,
      };
    }
    case 'anomaly': {
      state.baseline ??= {};
      const baseline = state.baseline;
      const expected = estimate(baseline, condition.baseline, observation.start);
      if (expected === undefined) {
        learn(baseline, condition.baseline, observation.start, value);
        return undefined;
      }
      const stddev = Math.max(
        expected.stddev,
        condition.min_stddev,
        condition.min_relative_stddev * Math.abs(expected.mean),
      );
      const sign = condition.direction === 'above' ? 1 : -1;
      const z = (sign * (value - expected.mean)) / stddev;
      const bound = expected.mean + sign * condition.z_fire * stddev;
      // Learn a winsorised value: a surge barely moves the baseline, a lasting change of level still does.
      const clamped = Math.max(-condition.z_fire, Math.min(condition.z_fire, z));
      learn(baseline, condition.baseline, observation.start, expected.mean + sign * clamped * stddev);
      const minimum = condition.min_value;
      const bigEnough = minimum === undefined || (sign > 0 ? value >= minimum : value <= minimum);
      return {
        fire: z >= condition.z_fire && bigEnough,
        clear: z < condition.z_clear,
        threshold: bound,
        reported: value,
        z,
        mean: expected.mean,
      };
    }
  }
}

function transition(
  rule: RuleConfig,
  type: 'firing' | 'resolved',
  id: string,
  observation: Observation,
  signal: Signal,
  startedAt: number,
  resolvedAt?: number,
): AlertTransition {
  const values = {
    district: observation.district,
    cell: observation.cell,
    value: signal.reported,
    threshold: signal.threshold,
  };
  const isWindow = observation.end > observation.start;
  return {
    type,
    alert_id: id,
    rule: rule.id,
    severity: rule.severity,
    indicator: indicatorName(rule),
    condition: rule.condition.type,
    ...(observation.district !== undefined ? { district: observation.district } : {}),
    ...(observation.cell !== undefined ? { cell: observation.cell } : {}),
    title_en: renderTitle(rule.title_en, values),
    title_zh: renderTitle(rule.title_zh, values),
    value: signal.reported,
    threshold: signal.threshold,
    ...(signal.z !== undefined ? { z_score: signal.z } : {}),
    ...(signal.mean !== undefined ? { baseline_mean: signal.mean } : {}),
    started_at: startedAt,
    ...(resolvedAt !== undefined ? { resolved_at: resolvedAt } : {}),
    at: resolvedAt ?? startedAt,
    ...(isWindow ? { window_start: observation.start, window_end: observation.end } : {}),
  };
}

/** `stream.indicator` for window rules, `kind.indicator` otherwise. */
export function indicatorName(rule: RuleConfig): string {
  const source = rule.source;
  return source.kind === 'district_window'
    ? `${source.stream}.${source.indicator}`
    : `${source.kind}.${source.indicator}`;
}
