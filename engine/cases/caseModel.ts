import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertEventData } from '../alerts/alertEvent.ts';

/**
 * Cases (docs/cases.md): the grid-management loop an alert starts. A case is its events, in order; its
 * state is their fold. The events are the one wire format: the topic `city.case-events` (keyed by case
 * id, so a case's events stay in order) and the table `city.case_events`.
 */
export const CASE_EVENT_TYPES = [
  'opened',
  'joined',
  'alert_resolved',
  'dispatched',
  'escalated',
  'acknowledged',
  'in_progress',
  'resolved',
  'verified',
  'closed',
  'reopened',
] as const;
export type CaseEventType = (typeof CASE_EVENT_TYPES)[number];

export const CaseEvent = z.strictObject({
  case_id: z.string().regex(/^case_[0-9a-f]{24}$/),
  /** 1, 2, ... within the case: its events' order, and with the case id their key. */
  seq: z.number().int().positive(),
  type: z.enum(CASE_EVENT_TYPES),
  at_ms: z.number().int().nonnegative(),
  /** A department id, or `system` (the case service itself). */
  by: z.string(),
  alert_id: z.string(),
  /** The grouping place: a district code, an H3 cell, or `city`. */
  place: z.string(),
  severity: z.enum(['info', 'warning', 'critical', '']),
  /** Escalation level of a dispatch: 0 the routed departments, n the n-th of the escalation chain. */
  level: z.number().int().nonnegative(),
  /** Who a dispatch or an escalation goes to; on `opened`, the routed departments. */
  departments: z.array(z.string()),
  /** Acknowledge by (dispatched, escalated), or close by (opened), epoch ms; else 0. */
  deadline_ms: z.number().int().nonnegative(),
  note: z.string().max(500),
  /** opened / joined: the alert's CloudEvent data as JSON (no personal data, by its schema); else ''. */
  alert: z.string(),
  /** The console action that made it (its id), so that an action read twice is applied once; else ''. */
  action_id: z.string().max(200),
});
export type CaseEvent = z.infer<typeof CaseEvent>;

/** The states a case rests in; `opened` and `reopened` are followed at once by a dispatch. */
export type CaseStateName =
  | 'opened'
  | 'dispatched'
  | 'acknowledged'
  | 'in_progress'
  | 'resolved'
  | 'verified'
  | 'closed';

/** What the fold of a case's events knows. */
export interface CaseState {
  id: string;
  seq: number;
  state: CaseStateName;
  place: string;
  severity: 'info' | 'warning' | 'critical';
  opened_at: number;
  /** Event time (the alert's start) of the newest alert: grouping looks at it. */
  last_alert_at: number;
  close_deadline: number;
  /** Each alert of the case: firing or resolved. */
  alerts: Map<string, 'firing' | 'resolved'>;
  /** The newest alert's data: an escalation's payload is built from it. */
  alert: AlertEventData | undefined;
  level: number;
  /** The departments the case is dispatched to now (the routed ones and those escalated to). */
  departments: Set<string>;
  /** The routed departments (level 0). */
  routed: string[];
  /** Acknowledge by this time (epoch ms); 0 once acknowledged. */
  ack_deadline: number;
  acknowledged_by: string;
}

/** A case's id: derived from the alert that opened it, so a replay opens the same case. */
export function caseIdOf(alertId: string): string {
  return `case_${createHash('sha256').update(alertId).digest('hex').slice(0, 24)}`;
}

/**
 * A case event with the fields it does not use left empty, checked against its schema before it is
 * written: an event the rebuild would skip must not be written at all. A note is cut to its 500
 * characters (masking may lengthen it).
 */
export function caseEvent(
  fields: Pick<CaseEvent, 'case_id' | 'seq' | 'type' | 'at_ms' | 'by'> & Partial<CaseEvent>,
): CaseEvent {
  return CaseEvent.parse({
    alert_id: '',
    place: '',
    severity: '',
    level: 0,
    departments: [],
    deadline_ms: 0,
    alert: '',
    action_id: '',
    ...fields,
    note: (fields.note ?? '').slice(0, 500),
  });
}

/** JSON text parsed, or undefined when it is not JSON (a record that is not gets its schema's answer). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const RESTING: Partial<Record<CaseEventType, CaseStateName>> = {
  opened: 'opened',
  dispatched: 'dispatched',
  acknowledged: 'acknowledged',
  in_progress: 'in_progress',
  resolved: 'resolved',
  verified: 'verified',
  closed: 'closed',
  reopened: 'opened',
};

/** Folds one event into its case (undefined before `opened`). Events of another case are a bug. */
export function applyCaseEvent(state: CaseState | undefined, e: CaseEvent): CaseState {
  if (state === undefined) {
    if (e.type !== 'opened') throw new Error(`case ${e.case_id} starts with ${e.type}, not opened`);
    state = {
      id: e.case_id,
      seq: 0,
      state: 'opened',
      place: e.place,
      severity: e.severity || 'info',
      opened_at: e.at_ms,
      last_alert_at: 0,
      close_deadline: e.deadline_ms,
      alerts: new Map(),
      alert: undefined,
      level: 0,
      departments: new Set(),
      routed: e.departments,
      ack_deadline: 0,
      acknowledged_by: '',
    };
  }
  state.seq = e.seq;
  const resting = RESTING[e.type];
  if (resting) state.state = resting;
  if (e.type === 'opened' || e.type === 'joined') {
    state.alerts.set(e.alert_id, 'firing');
    if (e.alert) {
      state.alert = JSON.parse(e.alert) as AlertEventData;
      state.last_alert_at = Math.max(state.last_alert_at, Date.parse(state.alert.started_at));
    }
    if (e.severity && rank(e.severity) > rank(state.severity)) state.severity = e.severity;
  }
  if (e.type === 'alert_resolved') state.alerts.set(e.alert_id, 'resolved');
  if (e.type === 'dispatched' || e.type === 'escalated') {
    if (e.type === 'dispatched') state.departments = new Set(e.departments);
    else for (const d of e.departments) state.departments.add(d);
    state.level = e.level;
    state.ack_deadline = e.deadline_ms;
    state.acknowledged_by = '';
  }
  if (e.type === 'acknowledged') {
    state.ack_deadline = 0;
    state.acknowledged_by = e.by;
  }
  return state;
}

const rank = (severity: string) => ['info', 'warning', 'critical'].indexOf(severity);
