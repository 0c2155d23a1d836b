import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutboxOffsets } from '../../../engine/alerts/outboxOffsets.ts';

describe('OutboxOffsets', () => {
  it('commits up to the oldest record with an unsettled delivery', () => {
    const offsets = new OutboxOffsets();
    offsets.add(0, '10', 2);
    offsets.add(0, '11', 1);
    offsets.add(0, '12', 0);
    expect(offsets.committable()).toEqual([]);
    offsets.settle(0, '11');
    expect(offsets.committable()).toEqual([]);
    offsets.settle(0, '10');
    expect(offsets.committable()).toEqual([]);
    offsets.settle(0, '10');
    expect(offsets.committable()).toEqual([{ partition: 0, offset: '13' }]);
    offsets.markCommitted(0, '13');
    expect(offsets.committable()).toEqual([]);
    expect(offsets.unsettled).toBe(0);
  });

  it('never commits past an unsettled record, whatever the order of settlements (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
        fc.func(fc.integer()),
        (deliveries, order) => {
          const offsets = new OutboxOffsets();
          const pending = deliveries.map((n) => n);
          for (const [i, n] of deliveries.entries()) offsets.add(3, String(100 + i), n);
          const settlements = deliveries.flatMap((n, i) => Array.from({ length: n }, (_, k) => ({ i, k })));
          settlements.sort((a, b) => order(a.i * 10 + a.k) - order(b.i * 10 + b.k));
          for (const { i } of settlements) {
            offsets.settle(3, String(100 + i));
            pending[i]! -= 1;
            const firstUnsettled = pending.findIndex((p) => p > 0);
            const expected = firstUnsettled === -1 ? 100 + deliveries.length : 100 + firstUnsettled;
            const [commit] = offsets.committable();
            if (commit) {
              expect(BigInt(commit.offset)).toBe(BigInt(expected));
              offsets.markCommitted(3, commit.offset);
            } else if (expected > 100) {
              // nothing new to commit: the last commit already stands at expected
              expect(firstUnsettled === -1 || pending.slice(0, firstUnsettled).every((p) => p === 0)).toBe(
                true,
              );
            }
          }
          expect(offsets.unsettled).toBe(0);
        },
      ),
    );
  });
});
