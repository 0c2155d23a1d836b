import { describe, expect, it } from 'vitest';
import { addWorkingDays, type GrantRequest } from '../../../engine/access/grantRequests.ts';
import { AlertWatch, OVERDUE_RULE, overdueTransitions } from '../../../engine/access/overdueAlerts.ts';
import { cityWorkingCalendar, WorkingCalendar } from '../../../engine/access/workingDays.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import { createLogger } from '../../../engine/observability/logger.ts';

const DAY = 86_400_000;
/** 10:00 in Shenzhen (UTC+8) on the given day of December 2026 (the 7th is a Monday). */
const at = (day: number) => Date.UTC(2026, 11, day, 2, 0);

const request = (change: Partial<GrantRequest> = {}): GrantRequest => ({
  id: 'r1',
  state: 'open',
  department: 'emergency',
  provider: 'transport',
  resource: 'map.vehicles',
  items: ['*'],
  purpose: 'evacuation routing',
  requested_at: at(7),
  due_at: at(14),
  answered_at: null,
  answered_by: '',
  legal_basis: '',
  grant_id: '',
  ...change,
});

describe('the answer time of a request', () => {
  it('is 5 working days on the city’s calendar, at the same time of day', () => {
    expect(addWorkingDays(at(7), 5)).toBe(at(14)); // Monday -> next Monday
    expect(addWorkingDays(at(11), 5)).toBe(at(18)); // Friday -> next Friday
    expect(addWorkingDays(at(12), 5)).toBe(at(18)); // Saturday -> Friday
    // 23:30 on Friday in Shenzhen is still Friday there, though Friday 15:30 in UTC.
    const lateFriday = Date.UTC(2026, 11, 11, 15, 30);
    expect(addWorkingDays(lateFriday, 1)).toBe(lateFriday + 3 * DAY);
  });

  it('skips public holidays and counts make-up working days (config/holidays.yaml, 2026)', () => {
    const on = (month: number, day: number) => Date.UTC(2026, month - 1, day, 2, 0);
    // Asked Friday 25 September: the 25th-27th are Mid-Autumn, 1-7 October National Day; Sunday 20 September
    // and Saturday 10 October are working days. Working days after the 25th: 28, 29, 30 Sept, 8, 9 Oct.
    expect(addWorkingDays(on(9, 25), 5)).toBe(on(10, 9));
    expect(addWorkingDays(on(9, 25), 6)).toBe(on(10, 10)); // a Saturday, worked
    expect(addWorkingDays(on(9, 18), 1)).toBe(on(9, 20)); // Friday -> the Sunday worked
    // Spring Festival: 15-23 February off, Saturday 14 and 28 February worked.
    expect(addWorkingDays(on(2, 13), 1)).toBe(on(2, 14));
    expect(addWorkingDays(on(2, 14), 1)).toBe(on(2, 24));
  });

  it('refuses a holiday file whose make-up day is a weekday or whose range leaves its year', () => {
    const file = (holidays: unknown[], working_days: string[]) => ({
      version: 1 as const,
      years: { '2027': { source: 'test', holidays, working_days } },
    });
    expect(() => new WorkingCalendar(file([], ['2027-01-04']) as never, 'h.yaml')).toThrow(
      /a weekday already/,
    );
    // A notice may start its New Year's holiday in the year before (2024's ran 30 December 2023 - 1 January).
    const across = { from: '2026-12-31', to: '2027-01-02', name: 'x' };
    expect(() => new WorkingCalendar(file([across], []) as never, 'h.yaml')).not.toThrow();
    const backwards = { from: '2027-05-05', to: '2027-05-01', name: 'x' };
    expect(() => new WorkingCalendar(file([backwards], []) as never, 'h.yaml')).toThrow(/not a range/);
    const calendar = new WorkingCalendar(file([], []) as never, 'h.yaml');
    expect(calendar.covers(2027)).toBe(true);
    expect(calendar.covers(2028)).toBe(false);
    expect(cityWorkingCalendar().covers(2026)).toBe(true);
  });
});

describe('overdue answers as alerts', () => {
  it('fire for an open request past its due time, addressed to the provider', () => {
    expect(overdueTransitions([request()], at(14))).toEqual([]);
    const [firing, ...rest] = overdueTransitions([request()], at(14) + 3_600_000);
    expect(rest).toEqual([]);
    expect(firing).toMatchObject({
      type: 'firing',
      rule: OVERDUE_RULE,
      department: 'transport',
      started_at: at(14),
      at: at(14),
      value: 1,
    });
  });

  it('resolve when a late answer comes; none for an answer in time', () => {
    const late = request({ state: 'granted', answered_at: at(15) });
    expect(overdueTransitions([late], at(16)).map((t) => t.type)).toEqual(['firing', 'resolved']);
    const inTime = request({ state: 'refused', answered_at: at(10) });
    expect(overdueTransitions([inTime], at(16))).toEqual([]);
    const [firing, resolved] = overdueTransitions([late], at(16));
    expect(resolved?.alert_id).toBe(firing?.alert_id);
  });

  it('are published once per process, and tried again after a failure', async () => {
    const published: AlertTransition[][] = [];
    let fail = true;
    const watch = new AlertWatch(
      'overdue answers',
      async (now) => overdueTransitions([request()], now),
      async (transitions) => {
        if (fail) throw new Error('broker down');
        published.push(transitions);
      },
      createLogger('test', 'silent'),
    );
    expect(await watch.check(at(15))).toBe(0);
    fail = false;
    expect(await watch.check(at(15))).toBe(1);
    expect(await watch.check(at(15) + 60_000)).toBe(0);
    expect(published).toHaveLength(1);
  });
});
