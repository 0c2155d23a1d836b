import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import type { IncidentImpactMessage } from '../contract/aggregates.ts';
import type { RuleConfig } from './alertConfig.ts';
import { alertId } from './alertIdentity.ts';
import type { AlertTransition } from './alertTransition.ts';
import { indicatorName } from './keyedRuleState.ts';
import { renderTitle } from './renderTitle.ts';

/** One active incident alert: the reports grouped into it. */
export interface IncidentGroup {
  id: string;
  category: string;
  district: string;
  lat: number;
  lon: number;
  startedAt: number;
  lastAt: number;
  value: number;
  incidents: string[];
  open: string[];
}

/** Serialisable state of one incident_impact rule. */
export interface IncidentRuleState {
  active: IncidentGroup[];
  /** Recently resolved groups, to hold back a new alert at the same place during the cooldown. */
  quiet: Array<{ lat: number; lon: number; category: string; until: number }>;
  suppressed: number;
  grouped: number;
}

export function newIncidentRuleState(): IncidentRuleState {
  return { active: [], quiet: [], suppressed: 0, grouped: 0 };
}

/**
 * Feeds one `incident_impact` to an incident rule. Reports of the same category within `grouping.radius_m`
 * of an active alert's first report and within `grouping.window` of its latest report join that alert (one
 * incident seen by many nearby sources gives one alert); otherwise a report whose indicator meets the
 * threshold fires a new alert, unless a resolved alert at the same place is still in its cooldown.
 */
export function stepIncidentImpact(
  rule: RuleConfig,
  state: IncidentRuleState,
  impact: IncidentImpactMessage,
): AlertTransition | undefined {
  const source = rule.source;
  const condition = rule.condition;
  if (source.kind !== 'incident_impact' || condition.type !== 'threshold') return undefined;
  if (impact.severity < source.min_severity) return undefined;
  if (source.categories && !source.categories.includes(impact.category)) return undefined;
  const value = impact[source.indicator];
  const meets = condition.direction === 'above' ? value >= condition.fire : value <= condition.fire;
  const grouping = rule.grouping;
  const near = (g: { lat: number; lon: number; category: string }) =>
    (!grouping.same_category || g.category === impact.category) &&
    haversineMeters(g.lat, g.lon, impact.lat, impact.lon) <= grouping.radius_m;
  const group = state.active.find(
    (g) => near(g) && impact.ts - g.lastAt <= grouping.window && impact.ts >= g.startedAt - grouping.window,
  );
  if (group) {
    if (!group.incidents.includes(impact.incident_id)) {
      group.incidents.push(impact.incident_id);
      group.open.push(impact.incident_id);
      state.grouped += 1;
    }
    group.lastAt = Math.max(group.lastAt, impact.ts);
    group.value =
      condition.direction === 'above' ? Math.max(group.value, value) : Math.min(group.value, value);
    return undefined;
  }
  if (!meets) return undefined;
  state.quiet = state.quiet.filter((q) => q.until > impact.ts - grouping.window);
  if (state.quiet.some((q) => near(q) && impact.ts < q.until)) {
    state.suppressed += 1;
    return undefined;
  }
  const id = alertId(rule.id, `incident:${impact.incident_id}`, impact.ts);
  const created: IncidentGroup = {
    id,
    category: impact.category,
    district: impact.district,
    lat: impact.lat,
    lon: impact.lon,
    startedAt: impact.ts,
    lastAt: impact.ts,
    value,
    incidents: [impact.incident_id],
    open: [impact.incident_id],
  };
  state.active.push(created);
  return incidentTransition(rule, 'firing', created);
}

/** An incident of the rule's alerts was closed at `ts`: resolves the alert when all its incidents are. */
export function closeIncident(
  rule: RuleConfig,
  state: IncidentRuleState,
  incidentId: string,
  ts: number,
): AlertTransition[] {
  const resolved: AlertTransition[] = [];
  for (const group of state.active) {
    if (!group.open.includes(incidentId)) continue;
    group.open = group.open.filter((id) => id !== incidentId);
    if (group.open.length === 0) resolved.push(resolve(rule, state, group, Math.max(ts, group.startedAt)));
  }
  return resolved;
}

/** Event time advanced to `now`: resolves alerts without a report for `grouping.resolve_after`. */
export function expireIncidentGroups(
  rule: RuleConfig,
  state: IncidentRuleState,
  now: number,
): AlertTransition[] {
  const expired = state.active.filter((g) => now - g.lastAt >= rule.grouping.resolve_after);
  return expired.map((group) => resolve(rule, state, group, group.lastAt + rule.grouping.resolve_after));
}

function resolve(
  rule: RuleConfig,
  state: IncidentRuleState,
  group: IncidentGroup,
  at: number,
): AlertTransition {
  state.active = state.active.filter((g) => g !== group);
  state.quiet.push({ lat: group.lat, lon: group.lon, category: group.category, until: at + rule.cooldown });
  return incidentTransition(rule, 'resolved', group, at);
}

function incidentTransition(
  rule: RuleConfig,
  type: 'firing' | 'resolved',
  group: IncidentGroup,
  resolvedAt?: number,
): AlertTransition {
  const threshold = rule.condition.type === 'threshold' ? rule.condition.fire : Number.NaN;
  const values = { district: group.district, category: group.category, value: group.value, threshold };
  return {
    type,
    alert_id: group.id,
    rule: rule.id,
    severity: rule.severity,
    indicator: indicatorName(rule),
    condition: 'threshold',
    district: group.district,
    category: group.category,
    lat: group.lat,
    lon: group.lon,
    title_en: renderTitle(rule.title_en, values),
    title_zh: renderTitle(rule.title_zh, values),
    value: group.value,
    threshold,
    sources: group.incidents.length,
    started_at: group.startedAt,
    ...(resolvedAt !== undefined ? { resolved_at: resolvedAt } : {}),
    at: resolvedAt ?? group.startedAt,
  };
}
