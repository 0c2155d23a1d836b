import { latLngToCell } from 'h3-js';
import { invalidOption } from '../optionInternals.ts';

export interface H3GridCacheOptions {
  /** H3 resolution of the cells returned. */
  readonly resolution: number;
  /** The area cached, `[west, south, east, north]` in degrees; points outside it are computed each time. */
  readonly bbox: readonly [number, number, number, number];
  /** Side of a grid square, degrees. Default 0.001 (about 110 m by 100 m at Shenzhen's latitude). */
  readonly squareDegrees?: number;
}

/** How far beyond a square its corners are tested, degrees (about 0.1 m). */
const MARGIN = 1e-6;
const MIXED = '';

/**
 * `latLngToCell` for many points, the same answers with fewer calls. A uniform grid of small squares
 * covers the area; the first point in a square tests the square's four corners (pushed out by about 0.1
 * m): when they lie in one cell, the whole square does, since an H3 cell is convex at this scale (its
 * edges are great-circle arcs that leave a straight line by millimetres over 500 m), and the square keeps
 * that cell. A square that a cell edge crosses keeps nothing, and its points are computed each time.
 *
 * Why: H3's own call (WebAssembly, and a new string for each answer) was 3-4 s of each engine worker's
 * CPU over 2 M events (docs/benchmarks.md). At resolution 8 (edge about 460 m) most 100 m squares lie
 * inside one cell. Equal to `latLngToCell` for every point: tests/unit/operators/geo/H3GridCache.test.ts.
 */
export class H3GridCache {
  readonly #resolution: number;
  readonly #west: number;
  readonly #south: number;
  readonly #step: number;
  readonly #columns: number;
  readonly #rows: number;
  /** undefined: not tested yet; MIXED: crossed by a cell edge; else the square's cell. */
  readonly #squares: (string | undefined)[];
  #hits = 0;
  #misses = 0;

  constructor(options: H3GridCacheOptions) {
    const [west, south, east, north] = options.bbox;
    const resolution = options.resolution;
    if (!Number.isInteger(resolution) || resolution < 0 || resolution > 15) {
      throw invalidOption('resolution', 'an H3 resolution, 0 to 15', resolution);
    }
    this.#resolution = resolution;
    this.#step = options.squareDegrees ?? 0.001;
    if (!(this.#step > 0) || !(east > west) || !(north > south)) {
      throw invalidOption('bbox', 'west < east and south < north, and a positive square size', options.bbox);
    }
    this.#west = west;
    this.#south = south;
    this.#columns = Math.ceil((east - west) / this.#step);
    this.#rows = Math.ceil((north - south) / this.#step);
    this.#squares = new Array(this.#columns * this.#rows);
  }

  /** Points answered from the grid, and points computed. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  cell(lat: number, lng: number): string {
    const column = Math.floor((lng - this.#west) / this.#step);
    const row = Math.floor((lat - this.#south) / this.#step);
    // Written so that NaN (a position that is not a number) falls out too, to latLngToCell's own error.
    if (!(column >= 0 && row >= 0 && column < this.#columns && row < this.#rows)) {
      this.#misses += 1;
      return latLngToCell(lat, lng, this.#resolution);
    }
    const square = row * this.#columns + column;
    let cell = this.#squares[square];
    if (cell === undefined) {
      cell = this.#test(row, column);
      this.#squares[square] = cell;
    }
    if (cell === MIXED) {
      this.#misses += 1;
      return latLngToCell(lat, lng, this.#resolution);
    }
    this.#hits += 1;
    return cell;
  }

  #test(row: number, column: number): string {
    const south = this.#south + row * this.#step - MARGIN;
    const north = this.#south + (row + 1) * this.#step + MARGIN;
    const west = this.#west + column * this.#step - MARGIN;
    const east = this.#west + (column + 1) * this.#step + MARGIN;
    const r = this.#resolution;
    const cell = latLngToCell(south, west, r);
    const same =
      latLngToCell(south, east, r) === cell &&
      latLngToCell(north, west, r) === cell &&
      latLngToCell(north, east, r) === cell;
    return same ? cell : MIXED;
  }
}
