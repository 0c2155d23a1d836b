import { greatCircleDistance } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { haversineMeters } from '../../../../operators/geo/haversineMeters.ts';

describe('haversineMeters', () => {
  it('matches h3-js great-circle distance', () => {
    const cases = [
      [22.5431, 114.0579, 22.5329, 113.9305],
      [22.5, 114, 22.5, 114],
      [0, 0, 0, 180],
    ] as const;
    for (const [a, b, c, d] of cases) {
      expect(haversineMeters(a, b, c, d)).toBeCloseTo(greatCircleDistance([a, b], [c, d], 'm'), 3);
    }
    expect(haversineMeters(22.5431, 114.0579, 22.5441, 114.0579)).toBeCloseTo(111.2, 0);
  });
});
