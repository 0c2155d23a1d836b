import { describe, expect, it } from 'vitest';
import { VersionedTable } from '../../../../operators/library/joins/VersionedTable.ts';

describe('VersionedTable', () => {
  it('returns the version valid at an event time, and the latest by default', () => {
    const t = new VersionedTable<string, string>();
    t.apply({ key: 'B-001', value: 'Futian Holdings', validFrom: 1_000 });
    t.apply({ key: 'B-001', value: 'Nanshan Realty', validFrom: 5_000 });
    expect(t.get('B-001', 999)).toBeUndefined();
    expect(t.get('B-001', 1_000)).toBe('Futian Holdings');
    expect(t.get('B-001', 4_999)).toBe('Futian Holdings');
    expect(t.get('B-001', 5_000)).toBe('Nanshan Realty');
    expect(t.get('B-001')).toBe('Nanshan Realty');
    expect(t.get('nope')).toBeUndefined();
  });

  it('places out-of-order updates by validFrom, lets a repeat of the same validFrom win, and deletes with null', () => {
    const t = new VersionedTable<string, number>();
    t.apply({ key: 'k', value: 3, validFrom: 300 });
    t.apply({ key: 'k', value: 1, validFrom: 100 });
    t.apply({ key: 'k', value: 2, validFrom: 200 });
    t.apply({ key: 'k', value: 20, validFrom: 200 });
    t.apply({ key: 'k', value: null, validFrom: 400 });
    expect([150, 250, 350, 450].map((at) => t.get('k', at))).toEqual([1, 20, 3, undefined]);
    expect(t.updates).toBe(5);
  });

  it('drops history beyond the retention but keeps the version valid at the boundary', () => {
    const t = new VersionedTable<string, number>({ historyRetentionMs: 100 });
    for (const at of [0, 50, 120, 300]) t.apply({ key: 'k', value: at, validFrom: at });
    expect(t.get('k', 250)).toBe(120); // boundary 200: 120 still valid there
    expect(t.get('k', 100)).toBeUndefined(); // older than the retained history
  });
});
