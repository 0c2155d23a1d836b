import { describe, expect, it } from 'vitest';
import { ALERT_EVENT_SOURCE, type AlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import { CaseBook } from '../../../engine/cases/caseBook.ts';
import { CasesConfig } from '../../../engine/cases/caseConfig.ts';
import { type CaseEvent, CaseEvent as CaseEventSchema } from '../../../engine/cases/caseModel.ts';

const T0 = Date.UTC(2026, 11, 7, 9, 0);
const MIN = 60_000;
const config = CasesConfig.parse({
  group_within: '30m',
  ack_within: { info: '30m', warning: '10m', critical: '3m' },
  escalation: ['duty-leader', 'operations-centre'],
  supervisors: ['operations-centre'],
});

let serial = 0;
function alert(
  type: 'firing' | 'resolved',
  fields: { id?: string; district?: string; severity?: 'info' | 'warning' | 'critical'; at?: number } = {},
): AlertCloudEvent {
  const id = fields.id ?? `al_${(++serial).toString(16).padStart(24, '0')}`;
  const at = new Date(fields.at ?? T0).toISOString();
  return {
    specversion: '1.0',
    id: `${id}.${type}`,
    source: ALERT_EVENT_SOURCE,
    type: `city.alert.${type}`,
    time: at,
    datacontenttype: 'application/json',
    data: {
      alert_id: id,
      rule: 'traffic-surge',
      severity: fields.severity ?? 'warning',
      indicator: 'transport.events',
      condition: 'threshold',
      district: fields.district ?? '440304',
      title_en: 'surge',
      title_zh: '激增',
      value: 10,
      threshold: 5,
      started_at: at,
    },
  };
}

const types = (events: CaseEvent[]) => events.map((e) => e.type);

describe('cases: opening, grouping, escalation and actions (CaseBook)', () => {
  it('opens a case per place and time, dispatched to the routed departments with a deadline by severity', () => {
    const book = new CaseBook();
    const first = alert('firing', { severity: 'critical' });
    const events = book.onAlert(first, ['transport', 'public-security'], config, T0);
    expect(types(events)).toEqual(['opened', 'dispatched']);
    for (const e of events) expect(CaseEventSchema.safeParse(e).success).toBe(true);
    const c = book.caseOfAlert(first.data.alert_id)!;
    expect(c.state).toBe('dispatched');
    expect([...c.departments]).toEqual(['transport', 'public-security']);
    expect(c.ack_deadline).toBe(T0 + 3 * MIN);
    expect(c.close_deadline).toBe(T0 + 2 * 3_600_000);

    const near = alert('firing', { at: T0 + 20 * MIN });
    expect(types(book.onAlert(near, ['transport'], config, T0 + 20 * MIN))).toEqual(['joined']);
    expect(book.caseOfAlert(near.data.alert_id)).toBe(c);
    const elsewhere = alert('firing', { district: '440303', at: T0 + 20 * MIN });
    expect(types(book.onAlert(elsewhere, ['transport'], config, T0))).toEqual(['opened', 'dispatched']);
    const later = alert('firing', { at: T0 + 51 * MIN });
    expect(book.onAlert(later, ['transport'], config, T0)[0]!.type).toBe('opened');
    expect(book.cases.size).toBe(3);
    // Grouping is by the alerts' event time, whenever they are processed: a catch-up hours later groups
    // as the alerts happened.
    const catchUp = new CaseBook();
    catchUp.onAlert(alert('firing', { at: T0 }), ['transport'], config, T0 + 300 * MIN);
    expect(
      types(catchUp.onAlert(alert('firing', { at: T0 + 290 * MIN }), ['transport'], config, T0 + 300 * MIN)),
    ).toEqual(['opened', 'dispatched']);
    expect(
      types(catchUp.onAlert(alert('firing', { at: T0 + 10 * MIN }), ['transport'], config, T0 + 300 * MIN)),
    ).toEqual(['joined']);
    // A replayed alert (the outbox read again after a crash) makes nothing.
    expect(book.onAlert(first, ['transport'], config, T0 + MIN)).toEqual([]);
  });

  it('escalates an unacknowledged dispatch along the chain, once per deadline, and stops at its end', () => {
    const book = new CaseBook();
    const a = alert('firing', { severity: 'critical' });
    book.onAlert(a, ['transport'], config, T0);
    expect(book.due(config, T0 + 3 * MIN - 1)).toEqual([]);
    const first = book.due(config, T0 + 3 * MIN);
    expect(first.map((e) => [e.type, e.level, e.departments])).toEqual([['escalated', 1, ['duty-leader']]]);
    expect(book.due(config, T0 + 3 * MIN + 1)).toEqual([]);
    const second = book.due(config, T0 + 6 * MIN);
    expect(second.map((e) => [e.level, e.departments])).toEqual([[2, ['operations-centre']]]);
    const end = book.due(config, T0 + 9 * MIN);
    expect(end.map((e) => [e.level, e.departments, e.deadline_ms])).toEqual([[3, [], 0]]);
    expect(book.due(config, T0 + 60 * MIN)).toEqual([]);
    const c = book.caseOfAlert(a.data.alert_id)!;
    expect([...c.departments]).toEqual(['transport', 'duty-leader', 'operations-centre']);
    // Anyone it was escalated to may acknowledge.
    const ack = book.act(
      { department: 'duty-leader', action: 'acknowledge', alert_id: a.data.alert_id },
      config,
      T0 + 10 * MIN,
    );
    expect('events' in ack && types(ack.events)).toEqual(['acknowledged']);
  });

  it('takes actions in the lifecycle only, from the departments it was dispatched to, repeats changing nothing', () => {
    const book = new CaseBook();
    const a = alert('firing');
    book.onAlert(a, ['transport'], config, T0);
    const id = book.caseOfAlert(a.data.alert_id)!.id;
    const act = (department: string, action: Parameters<CaseBook['act']>[0]['action'], at = T0 + MIN) =>
      book.act({ department, action, case_id: id }, config, at);
    expect(act('health', 'acknowledge')).toMatchObject({ status: 403 });
    expect(act('transport', 'resolve')).toMatchObject({ status: 409 });
    expect(act('nobody', 'close')).toMatchObject({ status: 403 });
    expect(
      book.act({ department: 'transport', action: 'acknowledge', case_id: 'case_0' }, config, T0),
    ).toMatchObject({ status: 404 });
    expect(types((act('transport', 'acknowledge') as { events: CaseEvent[] }).events)).toEqual([
      'acknowledged',
    ]);
    expect((act('transport', 'acknowledge') as { events: CaseEvent[] }).events).toEqual([]);
    expect(book.due(config, T0 + 60 * MIN)).toEqual([]);
    expect(types((act('transport', 'start') as { events: CaseEvent[] }).events)).toEqual(['in_progress']);
    expect((act('transport', 'acknowledge') as { events: CaseEvent[] }).events).toEqual([]);
    // Resolved while its alert still fires: the data do not confirm it yet.
    expect(types((act('transport', 'resolve') as { events: CaseEvent[] }).events)).toEqual(['resolved']);
    expect(act('transport', 'verify')).toMatchObject({ status: 403 });
    // The alert resolves: the data confirm the resolution.
    expect(types(book.onAlert(alert('resolved', { id: a.data.alert_id }), [], config, T0 + 5 * MIN))).toEqual(
      ['alert_resolved', 'verified'],
    );
    expect(types((act('operations-centre', 'close') as { events: CaseEvent[] }).events)).toEqual(['closed']);
    expect(book.cases.get(id)!.state).toBe('closed');
    expect(types((act('operations-centre', 'reopen') as { events: CaseEvent[] }).events)).toEqual([
      'reopened',
      'dispatched',
    ]);
    expect(book.cases.get(id)!.state).toBe('dispatched');
  });

  it('finishes after a crash what a decision left half written: a dispatch, a verification', () => {
    const book = new CaseBook();
    const a = alert('firing');
    const [opened] = book.onAlert(a, ['transport'], config, T0);
    const rebuilt = new CaseBook();
    rebuilt.record([opened!]); // the dispatch never reached the topic
    const repaired = rebuilt.repair(config, T0 + MIN);
    expect(repaired.map((e) => [e.type, e.seq, e.departments, e.deadline_ms])).toEqual([
      ['dispatched', 2, ['transport'], T0 + MIN + 10 * MIN],
    ]);
    expect(rebuilt.repair(config, T0 + 2 * MIN)).toEqual([]);
  });

  it('reopens a resolved case when a related alert fires, and rebuilds the same cases from its events', () => {
    const book = new CaseBook();
    const all: CaseEvent[] = [];
    const a = alert('firing');
    all.push(...book.onAlert(a, ['transport'], config, T0));
    const id = book.caseOfAlert(a.data.alert_id)!.id;
    for (const action of ['acknowledge', 'resolve'] as const) {
      const done = book.act({ department: 'transport', action, case_id: id }, config, T0 + MIN);
      if ('events' in done) all.push(...done.events);
    }
    const again = alert('firing', { at: T0 + 10 * MIN });
    const events = book.onAlert(again, ['transport'], config, T0 + 10 * MIN);
    expect(types(events)).toEqual(['joined', 'reopened', 'dispatched']);
    all.push(...events, ...book.due(config, T0 + 30 * MIN));
    const rebuilt = new CaseBook();
    rebuilt.record(all);
    expect(rebuilt.cases).toEqual(book.cases);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  });
});
