import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { H3Proximity } from '../../../../operators/geo/H3Proximity.ts';
import { haversineMeters } from '../../../../operators/geo/haversineMeters.ts';

describe('H3Proximity', () => {
  it('never misses a pair within the radius: the other cell is always in the disk (property, global)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -70, max: 70, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.constantFrom(50, 200, 500, 1_500),
        (lat, lng, fraction, bearing, radius) => {
          const near = new H3Proximity({ radiusMeters: radius });
          // A point at distance <= radius in direction `bearing` (equirectangular offset, then measured exactly).
          const d = fraction * radius * 0.999;
          const lat2 = lat + ((d * Math.cos(bearing)) / 6_371_007) * (180 / Math.PI);
          const lng2 =
            lng + ((d * Math.sin(bearing)) / (6_371_007 * Math.cos((lat * Math.PI) / 180))) * (180 / Math.PI);
          if (haversineMeters(lat, lng, lat2, lng2) > radius) return;
          expect(near.candidates(near.cellOf(lat, lng))).toContain(near.cellOf(lat2, lng2));
          expect(near.within(lat, lng, lat2, lng2)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('uses the local cell size when told where it works, giving a smaller disk', () => {
    const global = new H3Proximity({ radiusMeters: 500, resolution: 9 });
    const local = new H3Proximity({ radiusMeters: 500, resolution: 9, near: { lat: 22.54, lng: 114.05 } });
    expect(local.k).toBeLessThan(global.k);
    expect(local.candidates(local.cellOf(22.54, 114.05))).toHaveLength(3 * local.k * (local.k + 1) + 1);
    expect(H3Proximity.resolutionFor(500)).toBe(8);
  });

  it('validates options', () => {
    expect(() => new H3Proximity({ radiusMeters: -1 })).toThrow(
      'options.radiusMeters must be a number in [0, 10000000], got -1',
    );
    expect(() => new H3Proximity({ radiusMeters: 10, resolution: 16 })).toThrow(
      'options.resolution must be an integer in [0, 15]',
    );
  });
});
