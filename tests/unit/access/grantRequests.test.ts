import { describe, expect, it } from 'vitest';
import { addWorkingDays, type GrantRequest } from '../../../engine/access/grantRequests.ts';
import { AlertWatch, OVERDUE_RULE, overdueTransitions } from '../../../engine/access/overdueAlerts.ts';
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
