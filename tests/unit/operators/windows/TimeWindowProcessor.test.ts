import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCityOpsError } from '../../../../engine/errors.ts';
import { aggregateAll } from '../../../../operators/library/aggregates/aggregateAll.ts';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { mapInput } from '../../../../operators/library/aggregates/mapInput.ts';
import { sum } from '../../../../operators/library/aggregates/sum.ts';
import { HoppingWindows } from '../../../../operators/windows/HoppingWindows.ts';
import { TimeWindowProcessor } from '../../../../operators/windows/TimeWindowProcessor.ts';
import { TumblingWindows } from '../../../../operators/windows/TumblingWindows.ts';
import type { LateRecord, WindowOutput, WindowResult } from '../../../../operators/windows/WindowOutput.ts';
import type { EmitPolicy } from '../../../../operators/windows/WindowProcessor.ts';
import { drive, type Ev, rec, recordsOf, stepsArbitrary, timeWindowOracle } from '../testRecords.ts';

const countAndSum = aggregateAll({ n: count(), total: mapInput((e: Ev) => e.v, sum()) });
type Out = WindowOutput<Ev, string, { n: number; total: number }>;

function processor(
  spec: TumblingWindows | HoppingWindows,
  emit: EmitPolicy,
  extra: { outOfOrdernessMs?: number; dedup?: boolean; watermarks?: 'fromRecords' | 'external' } = {},
) {
  return new TimeWindowProcessor<Ev, string, unknown[], { n: number; total: number }>(spec, {
    key: (r) => r.value.key,
    aggregate: countAndSum,
    emit,
    outOfOrdernessMs: extra.outOfOrdernessMs ?? 0,
    watermarks: extra.watermarks ?? 'fromRecords',
    ...(extra.dedup ? { recordId: (r) => r.value.id } : {}),
  });
}

const results = (outs: Out[]) =>
  outs.filter((o): o is WindowResult<string, { n: number; total: number }> => o.kind === 'result');
const lates = (outs: Out[]) => outs.filter((o): o is LateRecord<Ev> => o.kind === 'late');

describe('TimeWindowProcessor', () => {
  it('counts a tumbling window and emits it once when the watermark passes its end (onWindowClose)', () => {
    const p = processor(TumblingWindows.ofSizeWithNoGrace(10), 'onWindowClose');
    expect(p.add(rec(1, { key: 'x', v: 1, id: 1 }))).toEqual([]);
    expect(p.add(rec(9, { key: 'x', v: 2, id: 2 }))).toEqual([]);
    expect(p.add(rec(10, { key: 'x', v: 4, id: 3 }))).toEqual([
      { kind: 'result', key: 'x', start: 0, end: 10, value: { n: 2, total: 3 }, revision: 1, final: true },
    ]);
    expect(p.flush()).toEqual([
      { kind: 'result', key: 'x', start: 10, end: 20, value: { n: 1, total: 4 }, revision: 1, final: true },
    ]);
  });

  it('routes a record behind watermark - grace to the late output with its coordinates', () => {
    const p = processor(TumblingWindows.ofSizeAndGrace(10, 5), 'onWindowClose');
    p.add(rec(3, { key: 'x', v: 1, id: 1 }));
    p.add(rec(14, { key: 'x', v: 1, id: 2 })); // watermark 14: [0,10) still open (grace until 15)
    expect(p.add(rec(8, { key: 'x', v: 1, id: 3 }))).toEqual([]); // late but within grace: counted
    const closing = p.add(rec(15, { key: 'y', v: 1, id: 4 }));
    expect(results(closing)).toEqual([
      { kind: 'result', key: 'x', start: 0, end: 10, value: { n: 2, total: 2 }, revision: 1, final: true },
    ]);
    const late = rec(9, { key: 'x', v: 1, id: 5 }, { source: 'gps', partition: 2, offset: 77 });
    expect(p.add(late)).toEqual([
      {
        kind: 'late',
        source: 'gps',
        partition: 2,
        offset: 77,
        timestamp: 9,
        windows: [{ start: 0, end: 10 }],
        watermark: 15,
        record: late,
      },
    ]);
    expect(p.stats()).toMatchObject({ records: 5, lateRecords: 1, openWindows: 1, watermark: 15 });
  });

  it('revises an emitted window with a late record within grace (onWindowUpdate), then emits it final', () => {
    const p = processor(TumblingWindows.ofSizeAndGrace(10, 5), 'onWindowUpdate');
    expect(results(p.add(rec(2, { key: 'x', v: 1, id: 1 })))).toMatchObject([
      { revision: 1, value: { n: 1 }, final: false },
    ]);
    p.add(rec(12, { key: 'x', v: 1, id: 2 }));
    expect(results(p.add(rec(5, { key: 'x', v: 1, id: 3 })))).toMatchObject([
      { start: 0, revision: 2, value: { n: 2 }, final: false },
    ]);
    expect(results(p.advanceWatermark(15))).toMatchObject([
      { start: 0, revision: 3, value: { n: 2 }, final: true },
    ]);
  });

  it('emits one revision per window and key for a whole batch', () => {
    const p = processor(TumblingWindows.ofSizeWithNoGrace(10), 'onWindowUpdate');
    const out = p.addBatch([
      rec(1, { key: 'x', v: 1, id: 1 }),
      rec(2, { key: 'y', v: 1, id: 2 }),
      rec(3, { key: 'x', v: 1, id: 3 }),
    ]);
    expect(out.map((o) => (o.kind === 'result' ? [o.key, o.value.n, o.revision] : o.kind))).toEqual([
      ['x', 2, 1],
      ['y', 1, 1],
    ]);
  });

  it('puts a record into every hopping window that contains it and reports only the closed ones as late', () => {
    const spec = HoppingWindows.ofSizeAdvanceAndGrace(30, 10, 0);
    expect(spec.windowsFor(25)).toEqual([
      { start: 0, end: 30 },
      { start: 10, end: 40 },
      { start: 20, end: 50 },
    ]);
    const p = processor(spec, 'onWindowClose');
    p.add(rec(25, { key: 'x', v: 1, id: 1 }));
    p.add(rec(35, { key: 'x', v: 1, id: 2 })); // closes [0,30) and earlier
    const out = p.add(rec(12, { key: 'x', v: 1, id: 3 }));
    expect(lates(out).map((l) => l.windows)).toEqual([
      [
        { start: -10, end: 20 },
        { start: 0, end: 30 },
      ],
    ]);
    const final = results(p.flush()).map((r) => [r.start, r.value.n]);
    expect(final).toEqual([
      [10, 3],
      [20, 2],
      [30, 1],
    ]);
  });

  it('counts a re-delivered record once per window and key and reports it as a duplicate', () => {
    const p = processor(TumblingWindows.ofSizeWithNoGrace(10), 'onWindowClose', { dedup: true });
    p.add(rec(1, { key: 'x', v: 5, id: 42 }));
    p.add(rec(1, { key: 'x', v: 5, id: 42 }));
    p.add(rec(2, { key: 'y', v: 5, id: 42 })); // another key: not a duplicate there
    expect(results(p.flush()).map((r) => [r.key, r.value.n])).toEqual([
      ['x', 1],
      ['y', 1],
    ]);
    expect(p.stats()).toMatchObject({ duplicateRecords: 1, lateRecords: 0 });
  });

  it('reports the oldest offset still held per source and partition', () => {
    const p = processor(TumblingWindows.ofSizeWithNoGrace(10), 'onWindowClose');
    p.add(rec(1, { key: 'x', v: 1, id: 1 }, { source: 'a', partition: 0, offset: 100 }));
    p.add(rec(12, { key: 'x', v: 1, id: 2 }, { source: 'a', partition: 0, offset: 101 }));
    p.add(rec(13, { key: 'x', v: 1, id: 3 }, { source: 'a', partition: 1, offset: 7 }));
    expect(p.oldestHeldOffset('a', 0)).toBe(101); // [0,10) closed by ts 12
    expect(p.oldestHeldOffset('a', 1)).toBe(7);
    expect(p.oldestHeldOffset('b', 0)).toBeUndefined();
    p.flush();
    expect(p.oldestHeldOffset('a', 0)).toBeUndefined();
  });

  it('follows only advanceWatermark with watermarks: external', () => {
    const p = processor(TumblingWindows.ofSizeWithNoGrace(10), 'onWindowClose', { watermarks: 'external' });
    p.add(rec(1, { key: 'x', v: 1, id: 1 }));
    expect(p.add(rec(500, { key: 'x', v: 1, id: 2 }))).toEqual([]);
    expect(results(p.advanceWatermark(10)).map((r) => r.start)).toEqual([0]);
    expect(p.watermark).toBe(10);
  });

  it('rejects a record without an integer timestamp with INVALID_RECORD', () => {
    const p = processor(TumblingWindows.ofSizeWithNoGrace(10), 'onWindowClose');
    expect(() => p.add(rec(1.5, { key: 'x', v: 1, id: 1 }))).toThrow(
      expect.objectContaining({ code: 'INVALID_RECORD' }),
    );
  });

  it('validates options once, naming the field', () => {
    try {
      new TimeWindowProcessor(TumblingWindows.ofSizeWithNoGrace(10), {
        key: (r) => r.source,
        aggregate: count(),
        outOfOrdernessMs: -1,
      });
      expect.unreachable();
    } catch (error) {
      expect(isCityOpsError(error, 'INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toBe(
        'options.outOfOrdernessMs must be a non-negative integer (ms), got -1',
      );
    }
  });

  const configs = fc.record({
    size: fc.integer({ min: 1, max: 60 }),
    advanceDivisor: fc.integer({ min: 1, max: 4 }),
    hopping: fc.boolean(),
    grace: fc.integer({ min: 0, max: 40 }),
    outOfOrderness: fc.integer({ min: 0, max: 40 }),
    emit: fc.constantFrom<EmitPolicy>('onWindowUpdate', 'onWindowClose'),
    dedup: fc.boolean(),
    fromRecords: fc.boolean(),
  });

  it('equals a brute-force oracle on random out-of-order input with duplicates, late records and watermarks', () => {
    fc.assert(
      fc.property(configs, stepsArbitrary, (config, steps) => {
        const advance = config.hopping
          ? Math.max(1, Math.floor(config.size / config.advanceDivisor))
          : config.size;
        const spec = config.hopping
          ? HoppingWindows.ofSizeAdvanceAndGrace(config.size, advance, config.grace)
          : TumblingWindows.ofSizeAndGrace(config.size, config.grace);
        const p = processor(spec, config.emit, {
          outOfOrdernessMs: config.outOfOrderness,
          dedup: config.dedup,
          watermarks: config.fromRecords ? 'fromRecords' : 'external',
        });
        const oracle = timeWindowOracle(steps, config.size, advance, {
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

        // Late output: the same records, windows and order.
        const late = perStep.flatMap((outs, step) => lates(outs).map((l) => ({ ...l, step })));
        expect(late.map((l) => [l.offset, l.source, l.partition, l.windows, l.step])).toEqual(
          oracle.late.map((l) => [l.offset, l.source, l.partition, l.windows, l.step]),
        );
        expect(lates(flushed)).toEqual([]);

        // Final results: one per window and key, at the step the oracle closes it, with its exact value.
        const finals = [
          ...perStep.map((outs, step) => ({ outs, step })),
          { outs: flushed, step: -1 },
        ].flatMap(({ outs, step }) =>
          results(outs)
            .filter((r) => r.final)
            .map((r) => ({ r, step })),
        );
        const expected = oracle.windows.map((w) => ({
          key: w.key,
          start: w.start,
          end: w.end,
          n: w.records.length,
          total: w.records.reduce((a, r) => a + r.value.v, 0),
          step: w.closedAtStep,
        }));
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
        ).toEqual(expected.sort((a, b) => sortKey(a).localeCompare(sortKey(b))));

        // Revisions run 1, 2, 3... per window and key; only the last is final.
        const all = [...perStep.flat(), ...flushed];
        const byWindow = new Map<string, WindowResult<string, { n: number; total: number }>[]>();
        for (const r of results(all)) byWindow.set(sortKey(r), [...(byWindow.get(sortKey(r)) ?? []), r]);
        for (const emissions of byWindow.values()) {
          expect(emissions.map((e) => e.revision)).toEqual(emissions.map((_, i) => i + 1));
          expect(emissions.map((e) => e.final)).toEqual(emissions.map((_, i) => i === emissions.length - 1));
          if (config.emit === 'onWindowClose') expect(emissions).toHaveLength(1);
        }

        // Offsets still held before the flush: the smallest offset of records in windows still open.
        const expectedHeld = new Map<string, number>();
        for (const w of oracle.windows.filter((x) => x.closedAtStep < 0)) {
          for (const r of w.records) {
            const sp = `${r.source}/${r.partition}`;
            expectedHeld.set(sp, Math.min(expectedHeld.get(sp) ?? Number.POSITIVE_INFINITY, r.offset));
          }
        }
        expect(held).toEqual(expectedHeld);
        expect(p.stats()).toMatchObject({
          records: recordsOf(steps).length,
          lateRecords: oracle.late.length,
          duplicateRecords: oracle.duplicates,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same calls give the same outputs', () => {
    fc.assert(
      fc.property(stepsArbitrary, (steps) => {
        const run = () =>
          drive<Out>(processor(HoppingWindows.ofSizeAdvanceAndGrace(20, 5, 7), 'onWindowUpdate'), steps);
        expect(run()).toEqual(run());
      }),
      { numRuns: 50 },
    );
  });
});
