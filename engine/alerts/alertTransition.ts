import type { Severity } from './alertConfig.ts';

/**
 * One step of an alert's lifecycle, as the rule evaluator emits it: `firing` once when a rule's condition
 * holds for a key (district, H3 cell or group of incidents), then `resolved` once when it clears. Times are
 * event time (epoch ms) taken from the aggregates, never the wall clock, so a replay emits the same
 * transitions with the same ids.
 */
export interface AlertTransition {
  readonly type: 'firing' | 'resolved';
  /** Deterministic: a digest of rule, key and `started_at`. */
  readonly alert_id: string;
  readonly rule: string;
  readonly severity: Severity;
  /** What the rule watched, e.g. `transport.mean_speed_kmh` or `incident_impact.people_present`. */
  readonly indicator: string;
  readonly condition: 'threshold' | 'rate_of_change' | 'anomaly';
  readonly district?: string;
  readonly cell?: string;
  readonly category?: string;
  /** Location of the first incident of an incident alert (WGS84). */
  readonly lat?: number;
  readonly lon?: number;
  readonly title_en: string;
  readonly title_zh: string;
  /** The observed value that fired (for `resolved`: the value that cleared). */
  readonly value: number;
  /** The value the rule compared with: the threshold, or for anomalies mean + z_fire * stddev. */
  readonly threshold: number;
  readonly z_score?: number;
  readonly baseline_mean?: number;
  /** Incident alerts: how many incident reports were grouped into this alert. */
  readonly sources?: number;
  /** Start of the window (or time of the report) that fired, epoch ms. */
  readonly started_at: number;
  /** End of the window (or time) at which it cleared, epoch ms; on `resolved` only. */
  readonly resolved_at?: number;
  /** Event time of this transition, epoch ms: started_at for firing, resolved_at for resolved. */
  readonly at: number;
  /** For window rules: the window that caused the transition, [start, end) epoch ms. */
  readonly window_start?: number;
  readonly window_end?: number;
  /** The department the alert is addressed to, besides the routes' (a grant request's provider). */
  readonly department?: string;
  /** Goes to every department (the city's operating level). */
  readonly broadcast?: boolean;
}
