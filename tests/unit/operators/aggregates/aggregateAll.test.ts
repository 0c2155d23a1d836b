import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateAll } from '../../../../operators/library/aggregates/aggregateAll.ts';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { mapInput } from '../../../../operators/library/aggregates/mapInput.ts';
import { max } from '../../../../operators/library/aggregates/max.ts';
import { mean } from '../../../../operators/library/aggregates/mean.ts';
import { quantiles } from '../../../../operators/library/aggregates/quantiles.ts';
import { checkMergeLaws, fold } from './aggregateLaws.ts';

const gps = aggregateAll({
  n: count(),
  meanSpeedKmh: mapInput((v: { speedKmh: number }) => v.speedKmh, mean()),
  maxSpeedKmh: mapInput((v: { speedKmh: number }) => v.speedKmh, max()),
  speed: mapInput((v: { speedKmh: number }) => v.speedKmh, quantiles({ quantiles: [0.5] })),
});

describe('aggregateAll', () => {
  it('computes every member into one result object', () => {
    expect(gps.result(fold(gps, [{ speedKmh: 10 }, { speedKmh: 20 }, { speedKmh: 60 }]))).toEqual({
      n: 3,
      meanSpeedKmh: 30,
      maxSpeedKmh: 60,
      speed: { p50: expect.closeTo(20, 0) },
    });
    expect(gps.name).toBe('all(n=count, meanSpeedKmh=mean, maxSpeedKmh=max, speed=quantiles(alpha=0.01))');
  });

  it('merges member by member and serialises', () => {
    checkMergeLaws(gps, fc.record({ speedKmh: fc.integer({ min: 0, max: 120 }) }), 100);
    expect(() => gps.fromJSON([1])).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
