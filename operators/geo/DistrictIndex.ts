import { invalidOption, requirePositiveInteger } from '../optionInternals.ts';

/** A GeoJSON polygon or multipolygon geometry, `[lng, lat]` positions in degrees. */
export type AreaGeometry =
  | { readonly type: 'Polygon'; readonly coordinates: readonly (readonly (readonly number[])[])[] }
  | {
      readonly type: 'MultiPolygon';
      readonly coordinates: readonly (readonly (readonly (readonly number[])[])[])[];
    };

/** A GeoJSON feature with an area geometry. */
export interface AreaFeature {
  readonly type?: 'Feature';
  readonly id?: string | number;
  readonly properties?: Readonly<Record<string, unknown>> | null;
  readonly geometry: AreaGeometry;
}

/** A GeoJSON FeatureCollection of areas (e.g. districts). */
export interface AreaFeatureCollection {
  readonly type: 'FeatureCollection';
  readonly features: readonly AreaFeature[];
}

export interface DistrictIndexOptions {
  /** Grid cells along the longer side of the bounding box. Default 512 (~250 m cells over Shenzhen). */
  readonly gridSize?: number;
  /** The id reported for a feature. Default: `feature.id`, else `properties.code`, else its index. */
  readonly idOf?: (feature: AreaFeature, index: number) => string;
}

/**
 * Point -> area (district) lookup for many points per second, built from a GeoJSON FeatureCollection.
 *
 * A uniform grid covers the bounding box. A cell that no polygon edge crosses lies wholly inside one area (or
 * none), which is stored, so most lookups are two array reads. A cell that edges cross stores those edges and
 * whether its centre is inside each area; a point there is inside an area iff the segment from the point to
 * the centre crosses that area's edges an odd number of times, and that segment never leaves the cell, so only
 * the cell's edges are tested (a few, instead of thousands). Results equal `@turf/boolean-point-in-polygon`
 * (tests check random points and points on and around boundary vertices); a point exactly on a shared border
 * is reported in one of the areas that share it.
 *
 * Holes and multipolygons are handled (even-odd rule per feature). Where areas overlap, the one listed first
 * wins. Coordinates must be in the same datum as the points looked up (convert GCJ-02 data with
 * `gcj02ToWgs84` first).
 *
 * @example
 * const index = DistrictIndex.fromFeatureCollection(gcj02ToWgs84(shenzhenGcj02));
 * index.lookup(114.05, 22.54); // '440304' (Futian); note GeoJSON order: longitude, latitude
 * index.lookup(0, 0);          // null: outside every area
 */
export class DistrictIndex {
  /** Area ids in feature order. */
  readonly ids: readonly string[];
  /** `[minLng, minLat, maxLng, maxLat]`, degrees. */
  readonly bbox: readonly [number, number, number, number];
  readonly columns: number;
  readonly rows: number;
  /** Cells that polygon edges cross. */
  readonly boundaryCells: number;
  readonly #x0: number;
  readonly #y0: number;
  readonly #cellSize: number;
  readonly #inverse: number;
  /** Per cell: index of the area containing its centre, -1 for none, -2 if the centre lies on an edge. */
  readonly #centre: Int16Array;
  /** Per cell: first edge reference (cell `i` owns refs `start[i]` to `start[i + 1]`). */
  readonly #start: Int32Array;
  readonly #coords: Float64Array;
  readonly #feature: Int16Array;
  readonly #allEdges: Float64Array;
  readonly #allFeature: Int16Array;

  private constructor(ids: string[], edges: number[], edgeFeature: number[], gridSize: number) {
    this.ids = Object.freeze(ids);
    const edgeCount = edgeFeature.length;
    let minX = Number.POSITIVE_INFINITY;
    let minY = Number.POSITIVE_INFINITY;
    let maxX = Number.NEGATIVE_INFINITY;
    let maxY = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < edges.length; i += 2) {
      minX = Math.min(minX, edges[i]!);
      maxX = Math.max(maxX, edges[i]!);
      minY = Math.min(minY, edges[i + 1]!);
      maxY = Math.max(maxY, edges[i + 1]!);
    }
    this.bbox = Object.freeze([minX, minY, maxX, maxY] as [number, number, number, number]);
    const cellSize = Math.max(maxX - minX, maxY - minY, 1e-9) / gridSize;
    const columns = Math.max(1, Math.ceil((maxX - minX) / cellSize));
    const rows = Math.max(1, Math.ceil((maxY - minY) / cellSize));
    this.columns = columns;
    this.rows = rows;
    this.#x0 = minX;
    this.#y0 = minY;
    this.#cellSize = cellSize;
    this.#inverse = 1 / cellSize;
    this.#allEdges = Float64Array.from(edges);
    this.#allFeature = Int16Array.from(edgeFeature);

    // Which cells each edge touches (rectangles grown by a hair so rounding cannot lose an edge).
    const eps = cellSize * 1e-6;
    const refCell: number[] = [];
    const refEdge: number[] = [];
    const counts = new Int32Array(columns * rows + 1);
    for (let e = 0; e < edgeCount; e++) {
      const ax = edges[4 * e]!;
      const ay = edges[4 * e + 1]!;
      const bx = edges[4 * e + 2]!;
      const by = edges[4 * e + 3]!;
      const c0 = clamp(Math.floor((Math.min(ax, bx) - minX - eps) / cellSize), columns);
      const c1 = clamp(Math.floor((Math.max(ax, bx) - minX + eps) / cellSize), columns);
      const r0 = clamp(Math.floor((Math.min(ay, by) - minY - eps) / cellSize), rows);
      const r1 = clamp(Math.floor((Math.max(ay, by) - minY + eps) / cellSize), rows);
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const x = minX + c * cellSize;
          const y = minY + r * cellSize;
          if (!segmentTouchesBox(ax, ay, bx, by, x - eps, y - eps, x + cellSize + eps, y + cellSize + eps))
            continue;
          refCell.push(r * columns + c);
          refEdge.push(e);
          counts[r * columns + c]!++;
        }
      }
    }
    const start = new Int32Array(columns * rows + 1);
    for (let i = 0; i < columns * rows; i++) start[i + 1] = start[i]! + counts[i]!;
    const fill = start.slice(0, columns * rows);
    const coords = new Float64Array(refEdge.length * 4);
    const feature = new Int16Array(refEdge.length);
    // Edges were numbered feature by feature, so each cell's refs come out grouped by feature.
    for (let i = 0; i < refEdge.length; i++) {
      const slot = fill[refCell[i]!]!++;
      const e = refEdge[i]!;
      coords.set(edges.slice(4 * e, 4 * e + 4), 4 * slot);
      feature[slot] = edgeFeature[e]!;
    }
    this.#start = start;
    this.#coords = coords;
    this.#feature = feature;

    // Centre of every cell: a horizontal scanline per row gives each area's crossings.
    const centre = new Int16Array(columns * rows).fill(-1);
    const featureCount = ids.length;
    for (let r = 0; r < rows; r++) {
      const y = minY + (r + 0.5) * cellSize;
      const crossings: number[][] = Array.from({ length: featureCount }, () => []);
      for (let e = 0; e < edgeCount; e++) {
        const ay = edges[4 * e + 1]!;
        const by = edges[4 * e + 3]!;
        if (ay > y === by > y) continue;
        const ax = edges[4 * e]!;
        const bx = edges[4 * e + 2]!;
        crossings[edgeFeature[e]!]!.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
      }
      for (let f = featureCount - 1; f >= 0; f--) {
        const xs = crossings[f]!.sort((a, b) => a - b);
        let k = 0;
        for (let c = 0; c < columns; c++) {
          const x = minX + (c + 0.5) * cellSize;
          while (k < xs.length && xs[k]! <= x) k++;
          // Crossings to the right of the centre: xs.length - k; odd means inside.
          if ((xs.length - k) % 2 === 1) centre[r * columns + c] = f;
        }
      }
    }
    let boundaryCells = 0;
    for (let cell = 0; cell < columns * rows; cell++) {
      if (start[cell] === start[cell + 1]) continue;
      boundaryCells++;
      const cx = minX + ((cell % columns) + 0.5) * cellSize;
      const cy = minY + (Math.floor(cell / columns) + 0.5) * cellSize;
      for (let i = start[cell]!; i < start[cell + 1]!; i++) {
        const ax = coords[4 * i]!;
        const ay = coords[4 * i + 1]!;
        const bx = coords[4 * i + 2]!;
        const by = coords[4 * i + 3]!;
        if (
          orient(ax, ay, bx, by, cx, cy) === 0 &&
          cx >= Math.min(ax, bx) &&
          cx <= Math.max(ax, bx) &&
          cy >= Math.min(ay, by) &&
          cy <= Math.max(ay, by)
        ) {
          centre[cell] = -2;
          break;
        }
      }
    }
    this.#centre = centre;
    this.boundaryCells = boundaryCells;
    Object.freeze(this);
  }

  /**
   * Builds the index. Every feature needs a Polygon or MultiPolygon geometry; at most 32 767 features.
   *
   * @param collection parsed GeoJSON (not read here: the caller loads it)
   */
  static fromFeatureCollection(
    collection: AreaFeatureCollection,
    options: DistrictIndexOptions = {},
  ): DistrictIndex {
    const gridSize = requirePositiveInteger('options.gridSize', options.gridSize ?? 512, 'cells');
    if (collection?.type !== 'FeatureCollection' || !Array.isArray(collection.features)) {
      throw invalidOption('collection', 'a GeoJSON FeatureCollection', collection?.type);
    }
    if (collection.features.length === 0 || collection.features.length > 32_767) {
      throw invalidOption('collection.features', 'between 1 and 32767 features', collection.features.length);
    }
    const idOf = options.idOf ?? defaultId;
    const ids: string[] = [];
    const edges: number[] = [];
    const edgeFeature: number[] = [];
    collection.features.forEach((feature, f) => {
      ids.push(idOf(feature, f));
      const geometry = feature.geometry;
      const polygons =
        geometry?.type === 'Polygon'
          ? [geometry.coordinates]
          : geometry?.type === 'MultiPolygon'
            ? geometry.coordinates
            : null;
      if (polygons === null) {
        throw invalidOption(
          `collection.features[${f}].geometry.type`,
          "'Polygon' or 'MultiPolygon'",
          geometry?.type,
        );
      }
      for (const polygon of polygons) {
        for (const ring of polygon) {
          const n = ring.length;
          for (let j = 0; j < n; j++) {
            const a = ring[j]!;
            const b = ring[(j + 1) % n]!;
            if (a[0] === b[0] && a[1] === b[1]) continue;
            edges.push(a[0]!, a[1]!, b[0]!, b[1]!);
            edgeFeature.push(f);
          }
        }
      }
    });
    return new DistrictIndex(ids, edges, edgeFeature, gridSize);
  }

  /**
   * The id of the area containing the point, or `null` if none does.
   *
   * @param lng longitude, degrees (GeoJSON order: longitude first)
   * @param lat latitude, degrees
   */
  lookup(lng: number, lat: number): string | null {
    const f = this.lookupIndex(lng, lat);
    return f < 0 ? null : this.ids[f]!;
  }

  /** Like `lookup`, but returns the area's position in `ids`, or -1 (no string handling on hot paths). */
  lookupIndex(lng: number, lat: number): number {
    const [, , maxX, maxY] = this.bbox;
    if (!(lng >= this.#x0 && lng <= maxX && lat >= this.#y0 && lat <= maxY)) return -1;
    let c = Math.floor((lng - this.#x0) * this.#inverse);
    if (c >= this.columns) c = this.columns - 1;
    let r = Math.floor((lat - this.#y0) * this.#inverse);
    if (r >= this.rows) r = this.rows - 1;
    const cell = r * this.columns + c;
    const centre = this.#centre[cell]!;
    const s = this.#start[cell]!;
    const e = this.#start[cell + 1]!;
    if (s === e) return centre;
    if (centre === -2) return this.#slowLookup(lng, lat);
    const cx = this.#x0 + (c + 0.5) * this.#cellSize;
    const cy = this.#y0 + (r + 0.5) * this.#cellSize;
    const coords = this.#coords;
    const feature = this.#feature;
    let centreSeen = false;
    let i = s;
    while (i < e) {
      const f = feature[i]!;
      let odd = false;
      for (; i < e && feature[i] === f; i++) {
        const ax = coords[4 * i]!;
        const ay = coords[4 * i + 1]!;
        const bx = coords[4 * i + 2]!;
        const by = coords[4 * i + 3]!;
        // Half-open sides (> 0 versus <= 0) count a vertex on the segment once, as in ray casting.
        if (orient(lng, lat, cx, cy, ax, ay) > 0 === orient(lng, lat, cx, cy, bx, by) > 0) continue;
        if (orient(ax, ay, bx, by, lng, lat) > 0 !== orient(ax, ay, bx, by, cx, cy) > 0) odd = !odd;
      }
      if (f === centre) centreSeen = true;
      if (odd !== (f === centre)) return f;
    }
    if (centre >= 0 && !centreSeen) return centre;
    // A point exactly on an edge (a shared border, a vertex) may fail every parity test; like turf, count
    // the boundary as inside.
    for (i = s; i < e; i++) {
      const ax = coords[4 * i]!;
      const ay = coords[4 * i + 1]!;
      const bx = coords[4 * i + 2]!;
      const by = coords[4 * i + 3]!;
      if (
        orient(ax, ay, bx, by, lng, lat) === 0 &&
        lng >= Math.min(ax, bx) &&
        lng <= Math.max(ax, bx) &&
        lat >= Math.min(ay, by) &&
        lat <= Math.max(ay, by)
      ) {
        return feature[i]!;
      }
    }
    return -1;
  }

  /** Even-odd test against every edge: for the rare cell whose centre lies exactly on an edge. */
  #slowLookup(lng: number, lat: number): number {
    const edges = this.#allEdges;
    const features = this.#allFeature;
    const odd = new Uint8Array(this.ids.length);
    for (let e = 0; e < features.length; e++) {
      const ay = edges[4 * e + 1]!;
      const by = edges[4 * e + 3]!;
      if (ay > lat === by > lat) continue;
      const ax = edges[4 * e]!;
      const bx = edges[4 * e + 2]!;
      if (lng < ax + ((lat - ay) * (bx - ax)) / (by - ay)) odd[features[e]!]! ^= 1;
    }
    return odd.indexOf(1);
  }
}

function defaultId(feature: AreaFeature, index: number): string {
  if (feature.id !== undefined) return String(feature.id);
  const code = feature.properties?.['code'];
  return code === undefined || code === null ? String(index) : String(code);
}

function clamp(value: number, size: number): number {
  return value < 0 ? 0 : value >= size ? size - 1 : value;
}

/** Twice the signed area of (a, b, p): > 0 if p is left of a->b. */
function orient(ax: number, ay: number, bx: number, by: number, px: number, py: number): number {
  return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

/** Liang-Barsky: does segment a-b meet the closed box? */
function segmentTouchesBox(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): boolean {
  const dx = bx - ax;
  const dy = by - ay;
  let t0 = 0;
  let t1 = 1;
  const p = [-dx, dx, -dy, dy];
  const q = [ax - x0, x1 - ax, ay - y0, y1 - ay];
  for (let i = 0; i < 4; i++) {
    const pi = p[i]!;
    const qi = q[i]!;
    if (pi === 0) {
      if (qi < 0) return false;
      continue;
    }
    const t = qi / pi;
    if (pi < 0) {
      if (t > t1) return false;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return false;
      if (t < t1) t1 = t;
    }
  }
  return true;
}
