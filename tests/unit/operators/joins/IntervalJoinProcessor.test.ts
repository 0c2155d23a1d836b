import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type IntervalJoinOutput,
  IntervalJoinProcessor,
  type LateJoinRecord,
} from '../../../../operators/library/joins/IntervalJoinProcessor.ts';
import type { SourceRecord } from '../../../../operators/time/SourceRecord.ts';
import { rec } from '../testRecords.ts';

type V = { key: string; id: string };
type Out = IntervalJoinOutput<V, V, string>;
const make = (
  extra: Partial<ConstructorParameters<typeof IntervalJoinProcessor<V, V, string, string>>[0]> = {},
) =>
  new IntervalJoinProcessor<V, V, string, string>({
    beforeMs: 5,
    afterMs: 10,
    leftKey: (r) => r.value.key,
    rightKey: (r) => r.value.key,
    join: (l, r) => `${l.value.id}+${r.value.id}`,
    ...extra,
  });
const joined = (outs: Out[]) => outs.flatMap((o) => (o.kind === 'joined' ? [o.value] : []));
const v = (key: string, id: string): V => ({ key, id });

describe('IntervalJoinProcessor', () => {
  it('joins on golden input: left.ts - before <= right.ts <= left.ts + after, same key, inclusive bounds', () => {
    const j = make({ outOfOrdernessMs: 1_000 });
    expect(j.addLeft(rec(100, v('k', 'L')))).toEqual([]);
    const out = j.addRightBatch([
      rec(94, v('k', 'r94')), // too early
      rec(95, v('k', 'r95')), // 100 - 5
      rec(110, v('k', 'r110')), // 100 + 10
      rec(111, v('k', 'r111')), // too late
      rec(100, v('other', 'rX')), // other key
    ]);
    expect(joined(out)).toEqual(['L+r95', 'L+r110']);
    expect(joined(j.addLeft(rec(106, v('k', 'L2'))))).toEqual(['L2+r110', 'L2+r111']);
    expect(j.stats()).toMatchObject({
      leftRecords: 2,
      rightRecords: 5,
      joined: 4,
      buffered: 7,
      lateRecords: 0,
    });
  });

  it('reports a record behind watermark - grace as late with its side and expires state by the watermark', () => {
    const j = make({ graceMs: 2 });
    j.addLeft(rec(100, v('k', 'L')));
    j.addRight(rec(200, v('k', 'R'))); // watermark = min(100, 200) = 100
    const late = j.addRight(rec(97, v('k', 'late'), { source: 'gps', partition: 3, offset: 12 }));
    expect(late).toEqual([
      expect.objectContaining({
        kind: 'late',
        side: 'right',
        source: 'gps',
        partition: 3,
        offset: 12,
        timestamp: 97,
        watermark: 100,
        windows: [{ start: 87, end: 103 }],
      }),
    ]);
    expect(joined(j.addRight(rec(98, v('k', 'ok'))))).toEqual(['L+ok']);
    j.advanceWatermark(1_000);
    expect(j.stats().buffered).toBe(0);
    expect(j.oldestHeldOffset('s', 0)).toBeUndefined();
  });

  it('keeps the oldest buffered offset per partition for commits', () => {
    const j = make();
    j.addLeft(rec(10, v('k', 'a'), { source: 'inc', partition: 0, offset: 40 }));
    j.addRight(rec(12, v('k', 'b'), { source: 'veh', partition: 2, offset: 7 }));
    expect(j.oldestHeldOffset('inc', 0)).toBe(40);
    expect(j.oldestHeldOffset('veh', 2)).toBe(7);
    expect(j.oldestHeldOffset('veh', 1)).toBeUndefined();
  });

  it('validates options, naming the field', () => {
    expect(() => make({ beforeMs: -1 })).toThrow(
      'options.beforeMs must be a non-negative integer (ms), got -1',
    );
    expect(() => make({ join: undefined as never })).toThrow(
      'options.join must be a function, got undefined',
    );
  });

  type Step = { side: 'left' | 'right'; records: SourceRecord<V>[] } | { side: 'watermark'; ts: number };
  const stepsArbitrary = fc
    .array(
      fc.record({
        side: fc.constantFrom<'left' | 'right' | 'watermark'>('left', 'right', 'left', 'right', 'watermark'),
        ts: fc.integer({ min: 0, max: 200 }),
        key: fc.constantFrom('a', 'b'),
        batch: fc.integer({ min: 1, max: 3 }),
        duplicate: fc.boolean(),
      }),
      { maxLength: 60 },
    )
    .map((events) => {
      const steps: Step[] = [];
      let offset = 0;
      const seen: SourceRecord<V>[] = [];
      for (const e of events) {
        if (e.side === 'watermark') {
          steps.push({ side: 'watermark', ts: e.ts });
          continue;
        }
        const records = Array.from({ length: e.batch }, (_, i) => {
          const original = e.duplicate && i === 0 ? seen.at(-1) : undefined;
          return rec(
            original?.timestamp ?? e.ts + i * 3,
            original?.value ?? v(e.key, `${e.side[0]}${offset}`),
            {
              source: e.side,
              offset: offset++,
            },
          );
        });
        seen.push(...records);
        steps.push({ side: e.side, records });
      }
      return steps;
    });

  it('equals a brute-force join of the non-late records on random out-of-order input (property)', () => {
    fc.assert(
      fc.property(
        stepsArbitrary,
        fc.record({
          before: fc.integer({ min: 0, max: 30 }),
          after: fc.integer({ min: 0, max: 30 }),
          grace: fc.integer({ min: 0, max: 20 }),
          outOfOrderness: fc.integer({ min: 0, max: 30 }),
        }),
        (steps, o) => {
          const j = make({
            beforeMs: o.before,
            afterMs: o.after,
            graceMs: o.grace,
            outOfOrdernessMs: o.outOfOrderness,
          });
          const outputs: Out[] = [];
          for (const s of steps) {
            if (s.side === 'watermark') outputs.push(...j.advanceWatermark(s.ts));
            else
              outputs.push(...(s.side === 'left' ? j.addLeftBatch(s.records) : j.addRightBatch(s.records)));
          }
          // Oracle: replay the watermark rule record by record, then join every accepted pair.
          let maxL = Number.NEGATIVE_INFINITY;
          let maxR = Number.NEGATIVE_INFINITY;
          let external = Number.NEGATIVE_INFINITY;
          let wm = Number.NEGATIVE_INFINITY;
          const accepted = { left: [] as SourceRecord<V>[], right: [] as SourceRecord<V>[] };
          const late: string[] = [];
          for (const s of steps) {
            if (s.side === 'watermark') {
              external = Math.max(external, s.ts);
              wm = Math.max(wm, external);
              continue;
            }
            for (const r of s.records) {
              if (s.side === 'left') maxL = Math.max(maxL, r.timestamp);
              else maxR = Math.max(maxR, r.timestamp);
              wm = Math.max(wm, external, Math.min(maxL, maxR) - o.outOfOrderness);
              if (r.timestamp < wm - o.grace) late.push(`${s.side}@${r.offset}`);
              else accepted[s.side].push(r);
            }
          }
          const expected: string[] = [];
          for (const l of accepted.left) {
            for (const r of accepted.right) {
              if (
                l.value.key === r.value.key &&
                l.timestamp - o.before <= r.timestamp &&
                r.timestamp <= l.timestamp + o.after
              ) {
                expected.push(`${l.value.id}+${r.value.id}`);
              }
            }
          }
          expect(joined(outputs).sort()).toEqual(expected.sort());
          expect(
            outputs
              .filter((x): x is LateJoinRecord<V, V> => x.kind === 'late')
              .map((x) => `${x.side}@${x.offset}`),
          ).toEqual(late);
        },
      ),
      { numRuns: 300 },
    );
  });
});
