import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { geoIntervalJoin } from '../../../../operators/library/joins/geoIntervalJoin.ts';
import { rec } from '../testRecords.ts';

describe('geoIntervalJoin', () => {
  it('joins an incident with the vehicles that pass near it in time, as they arrive', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const incidents = cold('a-----|', { a: rec(1_000, { id: 'crash', lat: 22.5431, lng: 114.0579 }) });
      const vehicles = cold('-x-y-z|', {
        x: rec(2_000, { id: 'bus-1', lat: 22.5433, lng: 114.0581 }),
        y: rec(3_000, { id: 'taxi-9', lat: 22.6, lng: 114.0579 }),
        z: rec(4_000, { id: 'van-3', lat: 22.5429, lng: 114.0575 }),
      });
      const output = incidents.pipe(
        geoIntervalJoin(vehicles, {
          radiusMeters: 200,
          beforeMs: 0,
          afterMs: 60_000,
          near: { lat: 22.54, lng: 114.05 },
          leftPosition: (r) => r.value,
          rightPosition: (r) => r.value,
          join: (l, r) => `${l.value.id}+${r.value.id}`,
        }),
        map((o) => (o.kind === 'joined' ? o.value : 'late')),
      );
      expectObservable(output).toBe('-x---z|', { x: 'crash+bus-1', z: 'crash+van-3' });
    });
  });
});
