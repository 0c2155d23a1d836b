import fc from 'fast-check';
import { cellToBoundary, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { H3GridCache } from '../../../../operators/geo/H3GridCache.ts';

const BBOX = [113.7, 22.4, 114.7, 22.9] as const; // about Shenzhen
const RESOLUTION = 8;

describe('H3GridCache', () => {
  it('answers as latLngToCell for any point, inside the grid and out', () => {
    const cache = new H3GridCache({ resolution: RESOLUTION, bbox: BBOX });
    fc.assert(
      fc.property(
        fc.double({ min: 22.3, max: 23.0, noNaN: true }),
        fc.double({ min: 113.6, max: 114.8, noNaN: true }),
        (lat, lng) => cache.cell(lat, lng) === latLngToCell(lat, lng, RESOLUTION),
      ),
      { numRuns: 20_000, seed: 1 },
    );
  });

  it('answers as latLngToCell within a metre of cell corners and on the squares’ own edges', () => {
    const cache = new H3GridCache({ resolution: RESOLUTION, bbox: BBOX });
    const metre = 1 / 111_000;
    fc.assert(
      fc.property(
        fc.double({ min: 22.45, max: 22.85, noNaN: true }),
        fc.double({ min: 113.75, max: 114.65, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.double({ min: -metre, max: metre, noNaN: true }),
        fc.double({ min: -metre, max: metre, noNaN: true }),
        (lat, lng, corner, dLat, dLng) => {
          const vertex = cellToBoundary(latLngToCell(lat, lng, RESOLUTION))[corner]!;
          const near = [vertex[0] + dLat, vertex[1] + dLng] as const;
          // A square's corner and edge: multiples of its 0.001° side.
          const edge = [Math.round(lat * 1000) / 1000, lng] as const;
          return [near, edge].every(([a, b]) => cache.cell(a, b) === latLngToCell(a, b, RESOLUTION));
        },
      ),
      { numRuns: 20_000, seed: 2 },
    );
  });

  it('answers most points of a city from the grid', () => {
    const cache = new H3GridCache({ resolution: RESOLUTION, bbox: BBOX });
    const points = fc.sample(
      fc.tuple(
        fc.double({ min: 22.5, max: 22.7, noNaN: true }),
        fc.double({ min: 113.9, max: 114.2, noNaN: true }),
      ),
      { numRuns: 50_000, seed: 3 },
    );
    for (const [lat, lng] of points) cache.cell(lat, lng);
    for (const [lat, lng] of points) cache.cell(lat, lng); // the squares are tested by now
    const { hits, misses } = cache.stats;
    expect(hits + misses).toBe(100_000);
    // Squares of 100 m inside cells of 460 m edges: about two in three.
    expect(hits / (hits + misses)).toBeGreaterThan(0.5);
  });

  it('lets a position that is not a number fail as latLngToCell fails', () => {
    const cache = new H3GridCache({ resolution: RESOLUTION, bbox: BBOX });
    expect(() => latLngToCell(Number.NaN, 114, RESOLUTION)).toThrow();
    expect(() => cache.cell(Number.NaN, 114)).toThrow();
    expect(() => cache.cell(22.5, Number.POSITIVE_INFINITY)).toThrow();
  });

  it('refuses a resolution H3 does not have, or an empty area', () => {
    expect(() => new H3GridCache({ resolution: 16, bbox: BBOX })).toThrow(
      /resolution must be an H3 resolution/,
    );
    expect(() => new H3GridCache({ resolution: 8, bbox: [114, 22, 113, 23] })).toThrow(/bbox must be/);
  });
});
