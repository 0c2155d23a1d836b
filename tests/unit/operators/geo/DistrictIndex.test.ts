import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shenzhenDistricts } from '../../../../engine/geo/shenzhenDistricts.ts';
import { type AreaFeatureCollection, DistrictIndex } from '../../../../operators/geo/DistrictIndex.ts';

const turfLookup = (collection: AreaFeatureCollection, lng: number, lat: number): string[] =>
  collection.features.filter((f) => booleanPointInPolygon([lng, lat], f as never)).map((f) => String(f.id));

describe('DistrictIndex', () => {
  const { featureCollection, index } = shenzhenDistricts();

  it('puts central Futian (22.54 N, 114.05 E, WGS84) in 440304 and points far away nowhere', () => {
    expect(index.lookup(114.05, 22.54)).toBe('440304');
    expect(index.lookup(0, 0)).toBeNull();
    expect(index.lookup(Number.NaN, 22.54)).toBeNull();
  });

  it('equals @turf/boolean-point-in-polygon on random points over the Shenzhen bounding box (property)', () => {
    const [x0, y0, x1, y1] = index.bbox;
    fc.assert(
      fc.property(
        fc.double({ min: x0 - 0.01, max: x1 + 0.01, noNaN: true }),
        fc.double({ min: y0 - 0.01, max: y1 + 0.01, noNaN: true }),
        (lng, lat) => {
          const expected = turfLookup(featureCollection, lng, lat);
          const got = index.lookup(lng, lat);
          if (expected.length === 0) expect(got).toBeNull();
          else expect(expected).toContain(got);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('equals turf near the borders too: points sampled on and around boundary vertices', () => {
    const coords = featureCollection.features.flatMap((f) =>
      f.geometry.type === 'Polygon' ? f.geometry.coordinates.flat() : f.geometry.coordinates.flat(2),
    );
    fc.assert(
      fc.property(
        fc.nat(coords.length - 1),
        fc.double({ min: -2e-4, max: 2e-4, noNaN: true }),
        fc.double({ min: -2e-4, max: 2e-4, noNaN: true }),
        (i, dx, dy) => {
          const [lng, lat] = coords[i]!;
          const x = lng! + dx;
          const y = lat! + dy;
          const expected = turfLookup(featureCollection, x, y);
          const got = index.lookup(x, y);
          if (expected.length === 0) expect(got).toBeNull();
          else expect(expected).toContain(got);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('handles holes and multipolygons with the even-odd rule, on a small grid', () => {
    const square = (x: number, y: number, s: number) => [
      [x, y],
      [x + s, y],
      [x + s, y + s],
      [x, y + s],
      [x, y],
    ];
    const collection: AreaFeatureCollection = {
      type: 'FeatureCollection',
      features: [
        { id: 'ring', geometry: { type: 'Polygon', coordinates: [square(0, 0, 10), square(3, 3, 4)] } },
        {
          id: 'islands',
          geometry: { type: 'MultiPolygon', coordinates: [[square(4, 4, 2)], [square(20, 0, 2)]] },
        },
      ],
    };
    const small = DistrictIndex.fromFeatureCollection(collection, { gridSize: 8 });
    expect(small.lookup(1, 1)).toBe('ring');
    expect(small.lookup(3.5, 3.5)).toBeNull(); // in the hole, not in the island
    expect(small.lookup(5, 5)).toBe('islands');
    expect(small.lookup(21, 1)).toBe('islands');
    expect(small.lookup(15, 1)).toBeNull();
    expect(small.ids).toEqual(['ring', 'islands']);
  });

  it('rejects input that is not a collection of areas', () => {
    expect(() => DistrictIndex.fromFeatureCollection({ type: 'FeatureCollection', features: [] })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() =>
      DistrictIndex.fromFeatureCollection({
        type: 'FeatureCollection',
        features: [{ geometry: { type: 'Point', coordinates: [0, 0] } as never }],
      }),
    ).toThrow("collection.features[0].geometry.type must be 'Polygon' or 'MultiPolygon', got \"Point\"");
  });
});
