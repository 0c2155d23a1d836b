import { ALERT_EVENT_TYPES, type AlertCloudEvent } from '../alerts/alertEvent.ts';
import { maskFreeText } from '../privacy/mask.ts';
import type { CasesConfig } from './caseConfig.ts';
import {
  applyCaseEvent,
  type CaseEvent,
  type CaseState,
  type CaseStateName,
  caseEvent,
  caseIdOf,
} from './caseModel.ts';
import { LevelTracker } from './operatingLevel.ts';

/** What a department or supervisor may do to a case, from which states, and what it leads to. */
export const CASE_ACTIONS = {
  acknowledge: { from: ['dispatched'], event: 'acknowledged', supervisor: false },
  start: { from: ['acknowledged'], event: 'in_progress', supervisor: false },
  resolve: { from: ['acknowledged', 'in_progress'], event: 'resolved', supervisor: false },
  verify: { from: ['resolved'], event: 'verified', supervisor: true },
  close: { from: ['verified'], event: 'closed', supervisor: true },
  reopen: { from: ['resolved', 'verified', 'closed'], event: 'reopened', supervisor: true },
  /** Dispatches the case to another department (`to`), with a new acknowledgement deadline. */
  assign: {
    from: ['opened', 'dispatched', 'acknowledged', 'in_progress', 'resolved'],
    event: 'dispatched',
    supervisor: true,
  },
} as const;
export type CaseAction = keyof typeof CASE_ACTIONS;

/** The states in the order a case goes through them. */
const LIFECYCLE: readonly CaseStateName[] = [
  'opened',
  'dispatched',
  'acknowledged',
  'in_progress',
  'resolved',
  'verified',
  'closed',
];

/** A refused action: the HTTP status it answers and why. */
export interface CaseRefusal {
  status: 403 | 404 | 409 | 503;
  message: string;
}

/**
 * Every case and the decisions on them. Pure: it returns the events a decision makes and folds them in
 * (`record`); the service writes them to Kafka. The same events rebuild it after a restart (`record` of
 * each event of the topic), so a decision taken before a crash is never taken twice.
 */
export class CaseBook {
  readonly cases = new Map<string, CaseState>();
  /** The open cases counted for the city's operating level. */
  readonly level = new LevelTracker();
  readonly #caseOfAlert = new Map<string, string>();
  readonly #actions = new Set<string>();
  /** Told of each event once folded in (the operating level follows the book through it). */
  onRecord: ((e: CaseEvent) => void) | undefined;

  record(events: readonly CaseEvent[]): void {
    for (const e of events) {
      if (e.action_id) this.#actions.add(e.action_id);
      const state = applyCaseEvent(this.cases.get(e.case_id), e);
      this.cases.set(e.case_id, state);
      this.level.update(state);
      if (e.alert_id) this.#caseOfAlert.set(e.alert_id, e.case_id);
      this.onRecord?.(e);
    }
  }

  caseOfAlert(alertId: string): CaseState | undefined {
    const id = this.#caseOfAlert.get(alertId);
    return id === undefined ? undefined : this.cases.get(id);
  }

  /**
   * A firing alert opens a case, or joins the newest case of its place whose last alert started within
   * `group_within` (a resolved or verified one is reopened by it); a resolved alert is noted on its case.
   * An alert the book already holds (a replay) makes nothing.
   */
  onAlert(event: AlertCloudEvent, routed: readonly string[], config: CasesConfig, now: number): CaseEvent[] {
    const data = event.data;
    const known = this.caseOfAlert(data.alert_id);
    const events: CaseEvent[] = [];
    const next: NextEvent = (c, fields) => this.#emit(events, c, fields);
    if (event.type === ALERT_EVENT_TYPES.resolved) {
      if (known && known.alerts.get(data.alert_id) === 'firing') {
        next(known, { type: 'alert_resolved', at_ms: now, by: 'system', alert_id: data.alert_id });
        this.#autoVerify(known, now, next);
      }
      return events;
    }
    if (event.type !== ALERT_EVENT_TYPES.firing || known) return events;
    const place = data.district ?? data.cell ?? 'city';
    const startedAt = Date.parse(data.started_at);
    const alert = JSON.stringify(data);
    const joined = this.#groupOf(place, startedAt, config);
    if (joined) {
      next(joined, {
        type: 'joined',
        at_ms: now,
        by: 'system',
        alert_id: data.alert_id,
        place,
        severity: data.severity,
        alert,
      });
      if (joined.state === 'resolved' || joined.state === 'verified') {
        next(joined, {
          type: 'reopened',
          at_ms: now,
          by: 'system',
          alert_id: data.alert_id,
          note: 'a related alert fired',
        });
        this.#dispatch(joined, config, now, next);
      }
      return events;
    }
    const opened = caseEvent({
      case_id: caseIdOf(data.alert_id),
      seq: 1,
      type: 'opened',
      at_ms: now,
      by: 'system',
      alert_id: data.alert_id,
      place,
      severity: data.severity,
      departments: [...routed],
      deadline_ms: now + config.close_within[data.severity],
      alert,
    });
    this.record([opened]);
    events.push(opened);
    this.#dispatch(this.cases.get(opened.case_id)!, config, now, next);
    return events;
  }

  /**
   * What a crash may have cut short, done now: a decision's events go out in one send, but a send is not
   * atomic, so a case rebuilt after a crash may end in `opened` or `reopened` without its dispatch, or be
   * resolved with every alert resolved and not verified.
   */
  repair(config: CasesConfig, now: number): CaseEvent[] {
    const events: CaseEvent[] = [];
    const next: NextEvent = (c, fields) => this.#emit(events, c, fields);
    for (const c of this.cases.values()) {
      if (c.state === 'opened') this.#dispatch(c, config, now, next);
      this.#autoVerify(c, now, next);
    }
    return events;
  }

  /** Escalations due at `now`: each unacknowledged dispatch past its deadline goes one step up the chain. */
  due(config: CasesConfig, now: number): CaseEvent[] {
    const events: CaseEvent[] = [];
    for (const c of this.cases.values()) {
      if (c.state !== 'dispatched' || c.ack_deadline === 0 || c.ack_deadline > now) continue;
      const department = config.escalation[c.level];
      this.#emit(events, c, {
        type: 'escalated',
        at_ms: now,
        by: 'system',
        level: c.level + 1,
        departments: department === undefined ? [] : [department],
        // Past the end of the chain there is no one further: the case waits, and is not escalated again.
        deadline_ms: department === undefined ? 0 : now + config.ack_within[c.severity],
        note: department === undefined ? 'end of the escalation chain' : '',
      });
    }
    return events;
  }

  /** A department's (or supervisor's) action on a case, named by case id or by one of its alerts' ids. */
  act(
    request: {
      department: string;
      action: CaseAction;
      case_id?: string;
      alert_id?: string;
      to?: string;
      note?: string;
      /** A console action's id: one already applied changes nothing. */
      action_id?: string;
    },
    config: CasesConfig,
    now: number,
  ): { case: CaseState; events: CaseEvent[] } | CaseRefusal {
    const c =
      request.case_id !== undefined
        ? this.cases.get(request.case_id)
        : request.alert_id !== undefined
          ? this.caseOfAlert(request.alert_id)
          : undefined;
    if (!c)
      return { status: 404, message: 'no such case (give case_id, or the alert_id of one of its alerts)' };
    if (request.action_id && this.#actions.has(request.action_id)) return { case: c, events: [] };
    const rule = CASE_ACTIONS[request.action];
    const supervisor = config.supervisors.includes(request.department);
    if (rule.supervisor ? !supervisor : !supervisor && !c.departments.has(request.department))
      return {
        status: 403,
        message: rule.supervisor
          ? `${request.action} is for the supervisors (${config.supervisors.join(', ') || 'none configured'})`
          : `case ${c.id} is not dispatched to ${request.department}`,
      };
    // Doing again what was done, or what the case has gone past (an acknowledgement repeated after the
    // work started), changes nothing and is not an error.
    const done = LIFECYCLE.indexOf(rule.event as CaseStateName);
    if (request.action !== 'assign' && done >= 0 && LIFECYCLE.indexOf(c.state) >= done)
      return { case: c, events: [] };
    if (request.action === 'assign' && !request.to)
      return { status: 409, message: 'assign needs `to`, the department that takes the case' };
    if (!(rule.from as readonly string[]).includes(c.state))
      return {
        status: 409,
        message: `case ${c.id} is ${c.state}: ${request.action} needs ${rule.from.join(' or ')}`,
      };
    const events: CaseEvent[] = [];
    const action_id = request.action_id ?? '';
    const next: NextEvent = (s, fields) => this.#emit(events, s, { action_id, ...fields });
    if (request.action === 'assign') {
      next(c, {
        type: 'dispatched',
        at_ms: now,
        by: request.department,
        departments: [request.to!],
        deadline_ms: now + config.ack_within[c.severity],
        note: maskFreeText(request.note ?? ''),
      });
      return { case: c, events };
    }
    next(c, { type: rule.event, at_ms: now, by: request.department, note: maskFreeText(request.note ?? '') });
    if (rule.event === 'reopened') this.#dispatch(c, config, now, next);
    if (rule.event === 'resolved') this.#autoVerify(c, now, next);
    return { case: c, events };
  }

  #emit(out: CaseEvent[], c: CaseState, fields: EventFields): void {
    const e = caseEvent({ ...fields, case_id: c.id, seq: c.seq + 1 });
    this.record([e]);
    out.push(e);
  }

  #groupOf(place: string, startedAt: number, config: CasesConfig): CaseState | undefined {
    let best: CaseState | undefined;
    for (const c of this.cases.values()) {
      if (c.place !== place || c.state === 'closed') continue;
      if (Math.abs(startedAt - c.last_alert_at) > config.group_within) continue;
      if (!best || c.last_alert_at > best.last_alert_at) best = c;
    }
    return best;
  }

  #dispatch(c: CaseState, config: CasesConfig, now: number, next: NextEvent): void {
    next(c, {
      type: 'dispatched',
      at_ms: now,
      by: 'system',
      level: 0,
      departments: c.routed,
      deadline_ms: now + config.ack_within[c.severity],
    });
  }

  /** The data confirm a department's resolution when every alert of its case has resolved. */
  #autoVerify(c: CaseState, now: number, next: NextEvent): void {
    if (c.state !== 'resolved') return;
    if ([...c.alerts.values()].some((s) => s === 'firing')) return;
    next(c, { type: 'verified', at_ms: now, by: 'system', note: 'every alert of the case has resolved' });
  }
}

type EventFields = Omit<Parameters<typeof caseEvent>[0], 'case_id' | 'seq'>;
type NextEvent = (c: CaseState, fields: EventFields) => void;
