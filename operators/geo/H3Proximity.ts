import { edgeLength, getHexagonEdgeLengthAvg, gridDisk, latLngToCell, originToDirectedEdges } from 'h3-js';
import { invalidOption, requireFiniteNumber } from '../optionInternals.ts';
import { haversineMeters } from './haversineMeters.ts';

export interface H3ProximityOptions {
  /** Distance within which two points are "near", metres. */
  readonly radiusMeters: number;
  /** H3 resolution of the prefilter cells. Default: `H3Proximity.resolutionFor(radiusMeters)`. */
  readonly resolution?: number;
  /**
   * A point of the area served (WGS84 degrees). With it, the ring size uses the cell sizes there (about ±5%
   * over a city), giving a smaller ring; without it, the worst case over the globe (edges 0.70x-1.11x of the
   * average), which is safe anywhere.
   */
  readonly near?: { readonly lat: number; readonly lng: number };
}

const RING_CACHE_LIMIT = 50_000;

/**
 * "Within N metres" with H3 as a prefilter: two points can only be within `radiusMeters` if their cells are
 * within `k` grid steps (`gridDisk(cell, k)`), then an exact great-circle check decides. `k` is derived
 * conservatively from the cell edge length `e`: points within a cell lie at most `e` from its centre, and
 * centres `k` steps apart are at least `1.5 * e * k` apart, so `k = ceil((radius + 2 * eMax) / (1.5 * eMin))`
 * never misses a pair (tests check it against brute force).
 *
 * The relation is symmetric, so an interval join can index each side by its own cell and probe the other
 * side's disk (see `geoIntervalJoin`). Disks are cached (up to 50 000 cells, then the cache restarts).
 *
 * @example
 * const near = new H3Proximity({ radiusMeters: 500, near: { lat: 22.54, lng: 114.05 } });
 * near.candidates(near.cellOf(22.54, 114.05)); // cells to look in
 * near.within(22.54, 114.05, 22.543, 114.052); // true (~390 m)
 */
export class H3Proximity {
  readonly radiusMeters: number;
  readonly resolution: number;
  /** Grid distance of the prefilter disk. */
  readonly k: number;
  readonly #rings = new Map<string, string[]>();

  constructor(options: H3ProximityOptions) {
    this.radiusMeters = requireFiniteNumber('options.radiusMeters', options.radiusMeters, 0, 1e7);
    const resolution = options.resolution ?? H3Proximity.resolutionFor(this.radiusMeters);
    if (!Number.isInteger(resolution) || resolution < 0 || resolution > 15) {
      throw invalidOption('options.resolution', 'an integer in [0, 15]', resolution);
    }
    this.resolution = resolution;
    let eMin: number;
    let eMax: number;
    if (options.near === undefined) {
      const average = getHexagonEdgeLengthAvg(resolution, 'm');
      eMin = 0.7 * average;
      eMax = 1.11 * average;
    } else {
      const lengths = originToDirectedEdges(latLngToCell(options.near.lat, options.near.lng, resolution)).map(
        (e) => edgeLength(e, 'm'),
      );
      eMin = 0.95 * Math.min(...lengths);
      eMax = 1.05 * Math.max(...lengths);
    }
    this.k = Math.ceil((this.radiusMeters + 2 * eMax) / (1.5 * eMin));
    Object.freeze(this);
  }

  /** The finest resolution whose average edge is at least half the radius (a disk of about k = 4). */
  static resolutionFor(radiusMeters: number): number {
    for (let res = 15; res > 0; res--) {
      if (getHexagonEdgeLengthAvg(res, 'm') >= radiusMeters / 2) return res;
    }
    return 0;
  }

  /** The cell of a WGS84 point at this resolution (latitude, longitude in degrees). */
  cellOf(lat: number, lng: number): string {
    return latLngToCell(lat, lng, this.resolution);
  }

  /** Every cell that may hold a point within `radiusMeters` of a point in `cell` (including `cell`). */
  candidates(cell: string): readonly string[] {
    let ring = this.#rings.get(cell);
    if (ring === undefined) {
      if (this.#rings.size >= RING_CACHE_LIMIT) this.#rings.clear();
      ring = gridDisk(cell, this.k);
      this.#rings.set(cell, ring);
    }
    return ring;
  }

  /** The exact check: great-circle distance <= `radiusMeters`. */
  within(lat1: number, lng1: number, lat2: number, lng2: number): boolean {
    return haversineMeters(lat1, lng1, lat2, lng2) <= this.radiusMeters;
  }
}
