import { cellToLatLng, getResolution } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { haversineMeters } from '../../../../operators/geo/haversineMeters.ts';
import { h3Cell } from '../../../../operators/library/geo/h3Cell.ts';

describe('h3Cell', () => {
  it('returns the cell containing the point at the resolution', () => {
    const cell = h3Cell(22.54, 114.05, 9);
    expect(getResolution(cell)).toBe(9);
    const [lat, lng] = cellToLatLng(cell);
    expect(haversineMeters(22.54, 114.05, lat, lng)).toBeLessThan(250);
  });

  it('rejects a resolution outside 0..15', () => {
    expect(() => h3Cell(22.54, 114.05, 16)).toThrow('resolution must be an integer in [0, 15], got 16');
  });
});
