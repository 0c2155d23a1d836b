import { latLngToCell } from 'h3-js';
import { invalidOption } from '../../optionInternals.ts';

/**
 * The H3 cell (hex string) containing a WGS84 point at `resolution` (0..15; 9 is ~0.1 km², edge ~200 m).
 * Arguments in h3-js order: latitude, then longitude, degrees.
 *
 * @example
 * h3Cell(22.54, 114.05, 9); // '89411c...' (a cell in Futian)
 */
export function h3Cell(lat: number, lng: number, resolution: number): string {
  if (!Number.isInteger(resolution) || resolution < 0 || resolution > 15) {
    throw invalidOption('resolution', 'an integer in [0, 15]', resolution);
  }
  return latLngToCell(lat, lng, resolution);
}
