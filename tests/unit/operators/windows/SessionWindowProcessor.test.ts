import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateAll } from '../../../../operators/library/aggregates/aggregateAll.ts';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { mapInput } from '../../../../operators/library/aggregates/mapInput.ts';
import { sum } from '../../../../operators/library/aggregates/sum.ts';
import { SessionWindowProcessor } from '../../../../operators/windows/SessionWindowProcessor.ts';
import { SessionWindows } from '../../../../operators/windows/SessionWindows.ts';
import type { LateRecord, WindowOutput, WindowResult } from '../../../../operators/windows/WindowOutput.ts';
import type { EmitPolicy } from '../../../../operators/windows/WindowProcessor.ts';
import { drive, type Ev, rec, sessionOracle, stepsArbitrary } from '../testRecords.ts';

const countAndSum = aggregateAll({ n: count(), total: mapInput((e: Ev) => e.v, sum()) });
type Value = { n: number; total: number };
type Out = WindowOutput<Ev, string, Value>;

function processor(
  spec: SessionWindows,
  emit: EmitPolicy,
  extra: { outOfOrdernessMs?: number; dedup?: boolean; watermarks?: 'fromRecords' | 'external' } = {},
) {
  return new SessionWindowProcessor<Ev, string, unknown[], { n: number; total: number }>(spec, {
    key: (r) => r.value.key,
    aggregate: countAndSum,
    emit,
    outOfOrdernessMs: extra.outOfOrdernessMs ?? 0,
    watermarks: extra.watermarks ?? 'fromRecords',
    ...(extra.dedup ? { recordId: (r) => r.value.id } : {}),
  });
}

const results = (outs: Out[]) => outs.filter((o): o is WindowResult<string, Value> => o.kind === 'result');
const lates = (outs: Out[]) => outs.filter((o): o is LateRecord<Ev> => o.kind === 'late');
const ev = (key: string, id: number) => ({ key, v: 1, id });

describe('SessionWindowProcessor', () => {
  it('groups records less than the gap apart into one session [first, last + gap)', () => {
    const p = processor(SessionWindows.ofInactivityGapWithNoGrace(10), 'onWindowClose');
    p.add(rec(0, ev('x', 1)));
    p.add(rec(9, ev('x', 2)));
    p.add(rec(19, ev('x', 3))); // 10 after the previous: a new session... but watermark 19 closes [0,19)
    expect(results(p.flush()).map((r) => [r.start, r.end, r.value.n])).toEqual([[19, 29, 1]]);
    expect(p.stats().results).toBe(2);
  });

  it('keeps records exactly one gap apart in separate sessions (half-open windows)', () => {
    const p = processor(SessionWindows.ofInactivityGapAndGrace(10, 100), 'onWindowClose');
    p.add(rec(0, ev('x', 1)));
    p.add(rec(10, ev('x', 2)));
    expect(results(p.flush()).map((r) => [r.start, r.end])).toEqual([
      [0, 10],
      [10, 20],
    ]);
  });

  it('merges two sessions bridged by an out-of-order record and lists the extents it replaces', () => {
    const p = processor(SessionWindows.ofInactivityGapAndGrace(10, 100), 'onWindowUpdate');
    p.add(rec(0, ev('x', 1)));
    p.add(rec(15, ev('x', 2)));
    const out = results(p.add(rec(8, ev('x', 3))));
    expect(out).toEqual([
      {
        kind: 'result',
        key: 'x',
        start: 0,
        end: 25,
        value: { n: 3, total: 3 },
        revision: 2,
        final: false,
        replaces: [
          { start: 0, end: 10 },
          { start: 15, end: 25 },
        ],
      },
    ]);
    expect(results(p.flush())).toEqual([
      { kind: 'result', key: 'x', start: 0, end: 25, value: { n: 3, total: 3 }, revision: 3, final: true },
    ]);
  });

  it('sends a record whose own window is closed to the late output, with that window', () => {
    const p = processor(SessionWindows.ofInactivityGapAndGrace(10, 5), 'onWindowClose');
    p.add(rec(100, ev('x', 1)));
    const late = p.add(rec(80, ev('y', 2), { source: 'gps', partition: 1, offset: 9 }));
    expect(lates(late)).toMatchObject([
      {
        source: 'gps',
        partition: 1,
        offset: 9,
        timestamp: 80,
        windows: [{ start: 80, end: 90 }],
        watermark: 100,
      },
    ]);
    // 88 + 10 > 95: its own window is still open, so it starts a session.
    expect(p.add(rec(88, ev('y', 3)))).toEqual([]);
    expect(results(p.flush()).map((r) => [r.key, r.start, r.end])).toEqual([
      ['y', 88, 98],
      ['x', 100, 110],
    ]);
  });

  it('counts a duplicate id once per session and keeps the oldest held offset per partition', () => {
    const p = processor(SessionWindows.ofInactivityGapWithNoGrace(10), 'onWindowClose', { dedup: true });
    p.add(rec(1, ev('x', 7), { source: 'a', partition: 0, offset: 5 }));
    p.add(rec(1, ev('x', 7), { source: 'a', partition: 0, offset: 6 }));
    p.add(rec(4, ev('x', 8), { source: 'a', partition: 0, offset: 7 }));
    expect(p.stats()).toMatchObject({ duplicateRecords: 1, openWindows: 1 });
    expect(p.oldestHeldOffset('a', 0)).toBe(5);
    expect(results(p.flush()).map((r) => r.value.n)).toEqual([2]);
    expect(p.oldestHeldOffset('a', 0)).toBeUndefined();
  });

  const configs = fc.record({
    gap: fc.integer({ min: 1, max: 40 }),
    grace: fc.integer({ min: 0, max: 40 }),
    outOfOrderness: fc.integer({ min: 0, max: 40 }),
    emit: fc.constantFrom<EmitPolicy>('onWindowUpdate', 'onWindowClose'),
    dedup: fc.boolean(),
    fromRecords: fc.boolean(),
  });

  it('equals a brute-force oracle on random out-of-order input with duplicates, late records and watermarks', () => {
    fc.assert(
      fc.property(configs, stepsArbitrary, (config, steps) => {
        const p = processor(SessionWindows.ofInactivityGapAndGrace(config.gap, config.grace), config.emit, {
          outOfOrdernessMs: config.outOfOrderness,
          dedup: config.dedup,
          watermarks: config.fromRecords ? 'fromRecords' : 'external',
        });
        const oracle = sessionOracle(steps, config.gap, {
          grace: config.grace,
          outOfOrderness: config.outOfOrderness,
          fromRecords: config.fromRecords,
          dedup: config.dedup,
        });
        const held = new Map<string, number>();
        const { perStep, flushed } = drive<Out>(p, steps, () => {
          for (const sp of ['a/0', 'a/1', 'b/0', 'b/1']) {
            const [source, partition] = sp.split('/');
            const value = p.oldestHeldOffset(source!, Number(partition));
            if (value !== undefined) held.set(sp, value);
          }
        });

        const late = perStep.flatMap((outs, step) => lates(outs).map((l) => ({ ...l, step })));
        expect(late.map((l) => [l.offset, l.windows, l.step])).toEqual(
          oracle.late.map((l) => [l.offset, l.windows, l.step]),
        );

        const finals = [
          ...perStep.map((outs, step) => ({ outs, step })),
          { outs: flushed, step: -1 },
        ].flatMap(({ outs, step }) =>
          results(outs)
            .filter((r) => r.final)
            .map((r) => ({ r, step })),
        );
        const sortKey = (x: { key: string; start: number }) => `${x.key}/${x.start}`;
        expect(
          finals
            .map(({ r, step }) => ({
              key: r.key,
              start: r.start,
              end: r.end,
              n: r.value.n,
              total: r.value.total,
              step,
            }))
            .sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
        ).toEqual(
          oracle.windows
            .map((w) => ({
              key: w.key,
              start: w.start,
              end: w.end,
              n: w.records.length,
              total: w.records.reduce((a, r) => a + r.value.v, 0),
              step: w.closedAtStep,
            }))
            .sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
        );

        // Revisions increase by one along a session's lineage; every extent emitted and later replaced is
        // listed in a later result's `replaces`, so a store that applies them keeps exactly the final sessions.
        const store = new Map<string, WindowResult<string, Value>>();
        for (const r of results([...perStep.flat(), ...flushed])) {
          for (const w of r.replaces ?? []) {
            expect(store.get(`${r.key}/${w.start}/${w.end}`)).toBeDefined();
            store.delete(`${r.key}/${w.start}/${w.end}`);
          }
          const previous = store.get(`${r.key}/${r.start}/${r.end}`);
          if (previous !== undefined) expect(r.revision).toBeGreaterThan(previous.revision);
          store.set(`${r.key}/${r.start}/${r.end}`, r);
        }
        expect([...store.values()].every((r) => r.final)).toBe(true);
        expect(store.size).toBe(oracle.windows.length);

        const expectedHeld = new Map<string, number>();
        for (const w of oracle.windows.filter((x) => x.closedAtStep < 0)) {
          for (const r of w.records) {
            const sp = `${r.source}/${r.partition}`;
            expectedHeld.set(sp, Math.min(expectedHeld.get(sp) ?? Number.POSITIVE_INFINITY, r.offset));
          }
        }
        expect(held).toEqual(expectedHeld);
        expect(p.stats()).toMatchObject({
          lateRecords: oracle.late.length,
          duplicateRecords: oracle.duplicates,
        });
      }),
      { numRuns: 300 },
    );
  });
});
