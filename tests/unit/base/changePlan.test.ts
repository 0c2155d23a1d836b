import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MembershipVersion, planMemberChange } from '../../../engine/base/changePlan.ts';

/**
 * Whatever the order in which a member's changes arrive (and arrive again), the rows written answer every
 * "where was it at time τ" as the changes themselves do: at its building of the latest change at or before
 * τ, and nowhere else.
 */
describe('planning a member’s change', () => {
  const change = fc.record({
    t: fc.integer({ min: 1, max: 12 }),
    building: fc.constantFrom('A', 'B', 'C'),
    deleted: fc.constantFrom<0 | 1>(0, 0, 1),
  });

  it('keeps the member at exactly one building at every time, for any arrival order and replays', () => {
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 8 }), fc.boolean(), (changes, replay) => {
        const history: MembershipVersion[] = [];
        // The stored rows, by (building, time): a later write of the same key replaces the earlier one.
        const stored = new Map<string, { building: string; t: number; deleted: number }>();
        const arrivals = replay ? [...changes, ...changes] : changes;
        for (const c of arrivals) {
          const version: MembershipVersion = {
            valid_from_ms: c.t,
            deleted: c.deleted,
            building_id: c.deleted ? '' : c.building,
            attributes: { dwelling_id: 'D1', birth_day: 0 },
          };
          for (const row of planMemberChange('resident', 'P1', history, version).member) {
            const key = `${row['building_id']}|${row['valid_from_ms']}`;
            stored.set(key, {
              building: String(row['building_id']),
              t: Number(row['valid_from_ms']),
              deleted: Number(row['deleted']),
            });
          }
        }
        // The truth: the last change to arrive for each time stands; the latest time at or before τ counts.
        const byTime = new Map<number, (typeof changes)[number]>();
        for (const c of changes) byTime.set(c.t, c);
        for (let tau = 0; tau <= 13; tau++) {
          const times = [...byTime.keys()].filter((t) => t <= tau).sort((a, b) => b - a);
          const latest = times.length > 0 ? byTime.get(times[0]!) : undefined;
          const truth = latest && latest.deleted === 0 ? latest.building : undefined;
          const at = ['A', 'B', 'C'].filter((b) => {
            const rows = [...stored.values()].filter((r) => r.building === b && r.t <= tau);
            const last = rows.sort((x, y) => y.t - x.t)[0];
            return last !== undefined && last.deleted === 0;
          });
          expect(at, `τ=${tau}`).toEqual(truth ? [truth] : []);
        }
      }),
      { numRuns: 500 },
    );
  });
});
