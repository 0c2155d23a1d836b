import type {
  AggregateMessage,
  DistrictPulseMessage,
  IncidentImpactMessage,
  PopulationCellsMessage,
} from '../contract/aggregates.ts';
import type { DistrictWindowTotals } from '../contract/districtWindowTable.ts';
import type { AlertConfig, RuleConfig } from './alertConfig.ts';
import type { AlertTransition } from './alertTransition.ts';
import { DistrictWindowCompletion, type DistrictWindowCompletionState } from './districtWindowCompletion.ts';
import {
  closeIncident,
  expireIncidentGroups,
  type IncidentRuleState,
  newIncidentRuleState,
  stepIncidentImpact,
} from './incidentGrouping.ts';
import { type KeyedRuleState, newKeyedRuleState, type Observation, stepKeyedRule } from './keyedRuleState.ts';

/** Serialisable state of an `AlertEvaluator` (JSON), written by `city-ops alerts` with its input offsets. */
export interface EvaluatorSnapshot {
  readonly version: 1;
  readonly now: number;
  readonly windows: DistrictWindowCompletionState;
  /** Windows complete but held back until every input partition has passed them (event-time order). */
  readonly held?: HeldWindow[];
  readonly inputProgress?: Array<[number, number]>;
  /** Per rule: its fingerprint and its per-key states, or its incident state. */
  readonly rules: Array<{
    id: string;
    fingerprint: string;
    keyed?: Array<[string, KeyedRuleState]>;
    incidents?: IncidentRuleState;
  }>;
}

/** Counters of what the evaluator did, for /metrics and tests. */
export interface EvaluatorStats {
  messages: number;
  observations: number;
  windowsCompleted: number;
  firing: number;
  resolved: number;
}

interface RuleRuntime {
  rule: RuleConfig;
  fingerprint: string;
  keyed: Map<string, KeyedRuleState>;
  incidents: IncidentRuleState;
}

const MINUTE = 60_000;
/** Complete windows held back for event-time order, at most (about 1 hour of 40 districts x 3 streams). */
const MAX_HELD = 100_000;

/** A complete district window or pulse waiting to be evaluated in event-time order. */
type HeldWindow =
  | { readonly kind: 'window'; readonly end: number; readonly totals: DistrictWindowTotals }
  | { readonly kind: 'pulse'; readonly end: number; readonly pulse: DistrictPulseMessage };

/** Options of an `AlertEvaluator`. */
export interface AlertEvaluatorOptions {
  /** Event time after which an incomplete window is evaluated anyway, and a held one released (ms); 5 min. */
  readonly stallMs?: number;
  /**
   * Partitions of the aggregates topic the messages come from (`process(message, partition)`); default 1.
   * Messages of one district at successive minutes have different Kafka keys, so they can arrive out of
   * order from different partitions: a complete window is evaluated only once every partition has brought
   * windows up to its end, so each key's windows reach the rules in event-time order.
   */
  readonly inputPartitions?: number;
}

/**
 * The alert rules engine: fed the messages of the aggregates topic in order, returns the alert lifecycle
 * transitions they cause. Pure and deterministic (event time only, no I/O, no clock), so a replay of the
 * same messages gives the same transitions with the same ids; `snapshot()` and `restore()` carry its
 * state across restarts.
 *
 * - `district_window` partials are merged per (stream, district, minute) and evaluated once the window is
 *   complete (see `DistrictWindowCompletion`); `district_pulse` and `population_cells` are evaluated as they
 *   come (they are final); `incident_impact` feeds incident rules, `incident` with status closed resolves
 *   their alerts.
 * - Alerts of a rule that a reload removed or changed (source, condition, districts, grouping) are
 *   resolved at the current event time, and its state starts afresh.
 *
 * @example
 * const evaluator = new AlertEvaluator(config);
 * for (const message of messages) for (const t of evaluator.process(message)) publish(t);
 */
export class AlertEvaluator {
  private rules: RuleRuntime[] = [];
  private windows: DistrictWindowCompletion;
  private held: HeldWindow[] = [];
  /** Per input partition, the greatest window end seen on it. */
  private inputProgress = new Map<number, number>();
  private oldestHeld = Number.MAX_SAFE_INTEGER;
  private readonly inputPartitions: number;
  private readonly stallMs: number;
  /** Greatest event time seen, epoch ms. */
  private now = Number.MIN_SAFE_INTEGER;
  readonly stats: EvaluatorStats = {
    messages: 0,
    observations: 0,
    windowsCompleted: 0,
    firing: 0,
    resolved: 0,
  };

  constructor(config: AlertConfig, options: AlertEvaluatorOptions = {}) {
    this.stallMs = options.stallMs ?? 300_000;
    this.inputPartitions = options.inputPartitions ?? 1;
    this.windows = new DistrictWindowCompletion(this.stallMs);
    this.setConfig(config);
  }

  /** Event time the evaluator has reached (greatest seen), epoch ms. */
  get eventTime(): number {
    return this.now;
  }

  /** Applies a new configuration; returns `resolved` transitions of alerts whose rule went away or changed. */
  setConfig(config: AlertConfig): AlertTransition[] {
    const previous = new Map(this.rules.map((r) => [r.rule.id, r]));
    const next: RuleRuntime[] = [];
    for (const rule of config.rules) {
      if (!rule.enabled) continue;
      const fingerprint = fingerprintOf(rule);
      const old = previous.get(rule.id);
      if (old && old.fingerprint === fingerprint) {
        next.push({ ...old, rule });
        previous.delete(rule.id);
      } else {
        next.push({ rule, fingerprint, keyed: new Map(), incidents: newIncidentRuleState() });
      }
    }
    this.rules = next;
    const resolved: AlertTransition[] = [];
    const at = Math.max(this.now, 0);
    for (const old of previous.values()) resolved.push(...resolveAll(old, at));
    this.count(resolved);
    return resolved;
  }

  /**
   * Feeds one aggregate message, read from `partition` of the aggregates topic (default 0); returns the
   * transitions it caused, in a deterministic order.
   */
  process(message: AggregateMessage, partition = 0): AlertTransition[] {
    this.stats.messages += 1;
    const out: AlertTransition[] = [];
    switch (message.kind) {
      case 'district_window':
        this.advance(message.window_end, out);
        for (const totals of this.windows.apply(message)) {
          this.stats.windowsCompleted += 1;
          this.hold({ kind: 'window', end: totals.window_end, totals });
        }
        this.release(partition, message.window_end, out);
        break;
      case 'district_pulse':
        this.advance(message.window_start + MINUTE, out);
        this.hold({ kind: 'pulse', end: message.window_start + MINUTE, pulse: message });
        this.release(partition, message.window_start + MINUTE, out);
        break;
      case 'population_cells':
        this.advance(message.ts, out);
        this.onCells(message, out);
        break;
      case 'incident_impact':
        this.advance(message.ts, out);
        this.onImpact(message, out);
        break;
      case 'incident':
        this.advance(message.ts, out);
        if (message.status === 'closed') {
          for (const runtime of this.rules) {
            if (runtime.rule.source.kind !== 'incident_impact') continue;
            out.push(...closeIncident(runtime.rule, runtime.incidents, message.incident_id, message.ts));
          }
        }
        break;
      case 'watermark':
        this.advance(message.watermark, out);
        break;
      case 'vehicle_positions':
        break;
    }
    this.count(out);
    return out;
  }

  /**
   * Input `partition` has nothing more to read for now (its consumer reached the end): it cannot bring an
   * older window any more, so it stops holding the others back (its progress moves up to the most advanced
   * partition's). Returns the transitions of the windows this releases.
   */
  markIdle(partition: number): AlertTransition[] {
    let furthest = Number.MIN_SAFE_INTEGER;
    for (const progress of this.inputProgress.values()) furthest = Math.max(furthest, progress);
    if (
      furthest === Number.MIN_SAFE_INTEGER ||
      (this.inputProgress.get(partition) ?? Number.MIN_SAFE_INTEGER) >= furthest
    ) {
      return [];
    }
    const out: AlertTransition[] = [];
    this.release(partition, furthest, out);
    this.count(out);
    return out;
  }

  /** Complete windows waiting for other input partitions. */
  get heldCount(): number {
    return this.held.length;
  }

  private hold(item: HeldWindow): void {
    this.held.push(item);
    this.oldestHeld = Math.min(this.oldestHeld, item.end);
  }

  /** Evaluates the held windows that every input partition has passed, oldest first. */
  private release(partition: number, end: number, out: AlertTransition[]): void {
    this.inputProgress.set(
      partition,
      Math.max(this.inputProgress.get(partition) ?? Number.MIN_SAFE_INTEGER, end),
    );
    if (this.held.length === 0) return;
    let furthest = Number.MIN_SAFE_INTEGER;
    for (const progress of this.inputProgress.values()) furthest = Math.max(furthest, progress);
    let frontier = Number.MAX_SAFE_INTEGER;
    for (let p = 0; p < this.inputPartitions; p += 1) {
      const progress = this.inputProgress.get(p);
      // A partition that has never carried a window (fewer keys than partitions) is waited for only until
      // the others are stallMs ahead; one that has carried windows is always waited for, however far the
      // others run ahead (a consumer catching up reads partitions hours apart).
      if (progress === undefined) {
        let oldest = Number.MAX_SAFE_INTEGER;
        for (const h of this.held) oldest = Math.min(oldest, h.end);
        if (furthest - this.stallMs >= oldest) continue;
        frontier = Number.MIN_SAFE_INTEGER;
        break;
      }
      frontier = Math.min(frontier, progress);
    }
    // Memory guard: a partition that went silent for good would hold windows forever.
    if (this.held.length > MAX_HELD) {
      const ends = this.held.map((h) => h.end).sort((a, b) => a - b);
      frontier = Math.max(frontier, ends[this.held.length - MAX_HELD]!);
    }
    const limit = frontier;
    // Nothing to release unless the oldest held window is within the frontier (O(partitions) per message).
    if (this.oldestHeld > limit) return;
    const ready = this.held.filter((h) => h.end <= limit);
    this.held = this.held.filter((h) => h.end > limit);
    this.oldestHeld = Number.MAX_SAFE_INTEGER;
    for (const h of this.held) this.oldestHeld = Math.min(this.oldestHeld, h.end);
    ready.sort((a, b) => a.end - b.end || order(a).localeCompare(order(b)));
    for (const item of ready) {
      if (item.kind === 'window') this.onWindow(item.totals, out);
      else this.onPulse(item.pulse, out);
    }
  }

  private count(transitions: AlertTransition[]): void {
    for (const t of transitions) {
      if (t.type === 'firing') this.stats.firing += 1;
      else this.stats.resolved += 1;
    }
  }

  private advance(ts: number, out: AlertTransition[]): void {
    if (ts <= this.now) return;
    this.now = ts;
    for (const runtime of this.rules) {
      if (runtime.rule.source.kind === 'incident_impact' && runtime.incidents.active.length > 0) {
        out.push(...expireIncidentGroups(runtime.rule, runtime.incidents, ts));
      }
    }
  }

  private onWindow(totals: DistrictWindowTotals, out: AlertTransition[]): void {
    for (const runtime of this.rules) {
      const source = runtime.rule.source;
      if (source.kind !== 'district_window' || source.stream !== totals.stream) continue;
      const value = windowIndicator(totals, source.indicator);
      if (value === undefined) continue;
      this.observe(
        runtime,
        {
          key: `district:${totals.district}`,
          district: totals.district,
          start: totals.window_start,
          end: totals.window_end,
          value,
        },
        out,
      );
    }
  }

  private onPulse(pulse: DistrictPulseMessage, out: AlertTransition[]): void {
    for (const runtime of this.rules) {
      const source = runtime.rule.source;
      if (source.kind !== 'district_pulse') continue;
      const value = pulse[source.indicator];
      if (value === null) continue;
      this.observe(
        runtime,
        {
          key: `district:${pulse.district}`,
          district: pulse.district,
          start: pulse.window_start,
          end: pulse.window_start + MINUTE,
          value,
        },
        out,
      );
    }
  }

  private onCells(message: PopulationCellsMessage, out: AlertTransition[]): void {
    for (const runtime of this.rules) {
      const source = runtime.rule.source;
      if (source.kind !== 'population_cells') continue;
      for (const cell of message.cells) {
        const value = source.indicator === 'net_inflow' ? cell.inflow - cell.outflow : cell[source.indicator];
        this.observe(
          runtime,
          {
            key: `cell:${cell.cell}`,
            district: cell.district,
            cell: cell.cell,
            start: cell.ts,
            end: cell.ts,
            value,
          },
          out,
        );
      }
    }
  }

  private onImpact(impact: IncidentImpactMessage, out: AlertTransition[]): void {
    for (const runtime of this.rules) {
      if (runtime.rule.source.kind !== 'incident_impact') continue;
      if (runtime.rule.districts && !runtime.rule.districts.includes(impact.district)) continue;
      this.stats.observations += 1;
      const transition = stepIncidentImpact(runtime.rule, runtime.incidents, impact);
      if (transition) out.push(transition);
    }
  }

  private observe(runtime: RuleRuntime, observation: Observation, out: AlertTransition[]): void {
    const rule = runtime.rule;
    if (
      rule.districts &&
      (observation.district === undefined || !rule.districts.includes(observation.district))
    )
      return;
    this.stats.observations += 1;
    let state = runtime.keyed.get(observation.key);
    if (!state) {
      state = newKeyedRuleState();
      runtime.keyed.set(observation.key, state);
    }
    const transition = stepKeyedRule(rule, state, observation);
    if (transition) out.push(transition);
  }

  /** Alerts currently firing: (rule, alert id) pairs. */
  activeAlerts(): Array<{ rule: string; alert_id: string; key: string }> {
    const active: Array<{ rule: string; alert_id: string; key: string }> = [];
    for (const runtime of this.rules) {
      for (const [key, state] of runtime.keyed) {
        if (state.active) active.push({ rule: runtime.rule.id, alert_id: state.active.id, key });
      }
      for (const group of runtime.incidents.active) {
        active.push({ rule: runtime.rule.id, alert_id: group.id, key: `incident:${group.incidents[0]}` });
      }
    }
    return active;
  }

  /**
   * The whole state that decides future transitions (not `stats`, which count what this process did, as
   * its Prometheus counters do). `restore(config, snapshot()).snapshot()` equals `snapshot()`.
   */
  snapshot(): EvaluatorSnapshot {
    return structuredClone({
      version: 1 as const,
      now: this.now,
      windows: this.windows.snapshot(),
      held: this.held,
      inputProgress: [...this.inputProgress],
      rules: this.rules.map((r) => ({
        id: r.rule.id,
        fingerprint: r.fingerprint,
        keyed: [...r.keyed],
        incidents: r.incidents,
      })),
    });
  }

  /**
   * An evaluator for `config` that continues from `snapshot`. Rules whose fingerprint changed since the
   * snapshot start afresh (their alerts are not resolved: use `setConfig` on a running evaluator for that).
   */
  static restore(
    config: AlertConfig,
    snapshot: EvaluatorSnapshot,
    options: AlertEvaluatorOptions = {},
  ): AlertEvaluator {
    const evaluator = new AlertEvaluator(config, options);
    const copy = structuredClone(snapshot);
    evaluator.now = copy.now ?? Number.MIN_SAFE_INTEGER;
    evaluator.windows = DistrictWindowCompletion.restore(copy.windows, options.stallMs);
    // A held window is already closed in `windows`: dropping it here would lose its evaluation for good.
    for (const item of copy.held ?? []) evaluator.hold(item);
    evaluator.inputProgress = new Map(copy.inputProgress ?? []);
    const saved = new Map(copy.rules.map((r) => [r.id, r]));
    for (const runtime of evaluator.rules) {
      const state = saved.get(runtime.rule.id);
      if (!state || state.fingerprint !== runtime.fingerprint) continue;
      runtime.keyed = new Map(state.keyed ?? []);
      runtime.incidents = state.incidents ?? newIncidentRuleState();
    }
    return evaluator;
  }
}

function order(item: HeldWindow): string {
  return item.kind === 'window'
    ? `${item.totals.window_start}|w|${item.totals.stream}|${item.totals.district}`
    : `${item.pulse.window_start}|p|${item.pulse.district}`;
}

function fingerprintOf(rule: RuleConfig): string {
  return JSON.stringify([rule.source, rule.condition, rule.districts ?? null, rule.grouping]);
}

function resolveAll(runtime: RuleRuntime, at: number): AlertTransition[] {
  const out: AlertTransition[] = [];
  const rule = runtime.rule;
  for (const [key, state] of runtime.keyed) {
    if (!state.active) continue;
    const district = key.startsWith('district:') ? key.slice('district:'.length) : undefined;
    const cell = key.startsWith('cell:') ? key.slice('cell:'.length) : undefined;
    out.push({
      type: 'resolved',
      alert_id: state.active.id,
      rule: rule.id,
      severity: rule.severity,
      indicator:
        rule.source.kind === 'district_window'
          ? `${rule.source.stream}.${rule.source.indicator}`
          : `${rule.source.kind}.${rule.source.indicator}`,
      condition: rule.condition.type,
      ...(district !== undefined ? { district } : {}),
      ...(cell !== undefined ? { cell } : {}),
      title_en: `${rule.title_en.replace(/\{[a-z_]+\}/g, '').trim()} (rule changed or removed)`,
      title_zh: `${rule.title_zh.replace(/\{[a-z_]+\}/g, '').trim()}（规则已更改或删除）`,
      value: state.active.value,
      threshold: state.active.threshold,
      started_at: state.active.startedAt,
      resolved_at: Math.max(at, state.active.startedAt),
      at: Math.max(at, state.active.startedAt),
    });
  }
  for (const group of runtime.incidents.active) {
    out.push({
      type: 'resolved',
      alert_id: group.id,
      rule: rule.id,
      severity: rule.severity,
      indicator: `incident_impact.${rule.source.kind === 'incident_impact' ? rule.source.indicator : ''}`,
      condition: 'threshold',
      district: group.district,
      category: group.category,
      lat: group.lat,
      lon: group.lon,
      title_en: `${rule.title_en.replace(/\{[a-z_]+\}/g, '').trim()} (rule changed or removed)`,
      title_zh: `${rule.title_zh.replace(/\{[a-z_]+\}/g, '').trim()}（规则已更改或删除）`,
      value: group.value,
      threshold: rule.condition.type === 'threshold' ? rule.condition.fire : 0,
      sources: group.incidents.length,
      started_at: group.startedAt,
      resolved_at: Math.max(at, group.startedAt),
      at: Math.max(at, group.startedAt),
    });
  }
  return out;
}

/** The value of a window indicator, or undefined when it has no value in this window (no speeds). */
export function windowIndicator(totals: DistrictWindowTotals, indicator: string): number | undefined {
  switch (indicator) {
    case 'events':
      return totals.events;
    case 'vehicles':
    case 'incidents':
      return totals.distinct_keys;
    case 'mean_speed_kmh':
      return totals.speed_count > 0 ? totals.speed_sum / totals.speed_count : undefined;
    case 'opened':
      return totals.opened;
    case 'closed':
      return totals.closed;
    case 'severe':
      return totals.severe;
    case 'present':
      return totals.present;
    case 'inflow':
      return totals.inflow;
    case 'outflow':
      return totals.outflow;
    case 'net_inflow':
      return totals.inflow - totals.outflow;
    default:
      return undefined;
  }
}
