import { describe, expect, it } from 'vitest';
import { gcj02ToWgs84 } from '../../../../operators/geo/gcj02ToWgs84.ts';
import { haversineMeters } from '../../../../operators/geo/haversineMeters.ts';

describe('gcj02ToWgs84', () => {
  it('shifts a Shenzhen position by the GCJ-02 offset (~500 m) without touching its input', () => {
    const input: [number, number] = [114.0549, 22.5397];
    const out = gcj02ToWgs84(input);
    expect(input).toEqual([114.0549, 22.5397]);
    const metres = haversineMeters(input[1], input[0], out[1], out[0]);
    expect(metres).toBeGreaterThan(300);
    expect(metres).toBeLessThan(700);
  });

  it('converts GeoJSON geometries deeply, as a copy', () => {
    const polygon = {
      type: 'Polygon' as const,
      coordinates: [
        [
          [114, 22.5],
          [114.1, 22.5],
          [114.1, 22.6],
          [114, 22.5],
        ],
      ],
    };
    const out = gcj02ToWgs84(polygon);
    expect(polygon.coordinates[0]![0]).toEqual([114, 22.5]);
    expect(out.coordinates[0]![0]![0]).not.toBe(114);
    expect(out.coordinates[0]).toHaveLength(4);
  });
});
