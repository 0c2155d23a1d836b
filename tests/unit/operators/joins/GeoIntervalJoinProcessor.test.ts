import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { haversineMeters } from '../../../../operators/geo/haversineMeters.ts';
import { GeoIntervalJoinProcessor } from '../../../../operators/library/joins/GeoIntervalJoinProcessor.ts';
import type { SourceRecord } from '../../../../operators/time/SourceRecord.ts';
import { rec } from '../testRecords.ts';

type P = { id: string; lat: number; lng: number };
const make = (radiusMeters: number, resolution?: number) =>
  new GeoIntervalJoinProcessor<P, P, string>({
    radiusMeters,
    ...(resolution === undefined ? {} : { resolution }),
    beforeMs: 60_000,
    afterMs: 600_000,
    outOfOrdernessMs: 3_600_000,
    leftPosition: (r) => r.value,
    rightPosition: (r) => r.value,
    join: (l, r, metres) => `${l.value.id}+${r.value.id}@${Math.round(metres)}`,
  });

describe('GeoIntervalJoinProcessor', () => {
  it('joins vehicles within N metres and M seconds of an incident (golden)', () => {
    const j = make(500);
    // Incident at Futian Civic Centre, 10:00.
    j.addLeft(rec(36_000_000, { id: 'fire', lat: 22.5431, lng: 114.0579 }));
    const out = j.addRightBatch([
      rec(36_000_000 + 120_000, { id: 'near-2min', lat: 22.5441, lng: 114.0589 }), // ~151 m
      rec(36_000_000 + 900_000, { id: 'near-15min', lat: 22.5431, lng: 114.058 }), // too late
      rec(36_000_000 - 30_000, { id: 'near-before', lat: 22.546, lng: 114.0579 }), // ~322 m, 30 s before
      rec(36_000_000, { id: 'far', lat: 22.5531, lng: 114.0579 }), // ~1.1 km
    ]);
    expect(out.flatMap((o) => (o.kind === 'joined' ? [o.value] : []))).toEqual([
      'fire+near-2min@151',
      'fire+near-before@322',
    ]);
  });

  it('equals a brute-force distance-and-time join on random points around Shenzhen (property)', () => {
    const point = fc.record({
      lat: fc.double({ min: 22.53, max: 22.56, noNaN: true }),
      lng: fc.double({ min: 114.03, max: 114.07, noNaN: true }),
      ts: fc.integer({ min: 0, max: 1_200_000 }),
      left: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(point, { maxLength: 40 }),
        fc.constantFrom(100, 300, 800),
        fc.constantFrom(8, 9, 10),
        (points, radius, res) => {
          const j = make(radius, res);
          const lefts: SourceRecord<P>[] = [];
          const rights: SourceRecord<P>[] = [];
          const got: string[] = [];
          points.forEach((p, i) => {
            const r = rec(p.ts, { id: `${p.left ? 'L' : 'R'}${i}`, lat: p.lat, lng: p.lng });
            (p.left ? lefts : rights).push(r);
            for (const o of p.left ? j.addLeft(r) : j.addRight(r))
              if (o.kind === 'joined') got.push(o.value.split('@')[0]!);
          });
          const expected: string[] = [];
          for (const l of lefts) {
            for (const r of rights) {
              const near = haversineMeters(l.value.lat, l.value.lng, r.value.lat, r.value.lng) <= radius;
              const inTime = l.timestamp - 60_000 <= r.timestamp && r.timestamp <= l.timestamp + 600_000;
              if (near && inTime) expected.push(`${l.value.id}+${r.value.id}`);
            }
          }
          expect(got.sort()).toEqual(expected.sort());
        },
      ),
      { numRuns: 150 },
    );
  });
});
