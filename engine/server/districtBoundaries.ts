import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as gcoordModule from 'gcoord';
import { PROJECT_ROOT } from '../config/environment.ts';

/** One district as the map shows it. */
export interface DistrictInfo {
  /** Official code, e.g. '440304'. */
  code: string;
  nameZh: string;
  nameEn: string;
  /** Label point [lon, lat], WGS84. */
  label: [number, number];
  /** Bounding box [west, south, east, north], WGS84. */
  bbox: [number, number, number, number];
}

/** The district layer of the map: WGS84 GeoJSON for drawing and the districts' metadata. */
export interface DistrictBoundaries {
  /** FeatureCollection; each feature has `id` = code and properties `{ code, name_zh, name_en, label }`. */
  geojson: { type: 'FeatureCollection'; features: GeoJsonFeature[] };
  districts: DistrictInfo[];
}

interface GeoJsonFeature {
  type: 'Feature';
  id: string;
  properties: Record<string, unknown>;
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown };
}

/** English names of Shenzhen's districts (the vendored data names them in Chinese only). */
const ENGLISH_NAMES: Record<string, string> = {
  '440303': 'Luohu',
  '440304': 'Futian',
  '440305': 'Nanshan',
  '440306': "Bao'an",
  '440307': 'Longgang',
  '440308': 'Yantian',
  '440309': 'Longhua',
  '440310': 'Pingshan',
};

// gcoord is CommonJS whose types declare an ES default export: accept either shape at run time.
type Loaded = typeof gcoordModule.default;
type Gcoord = Loaded extends { default: infer D } ? D : Loaded;
const loadedGcoord = gcoordModule.default as unknown as Gcoord & { default?: Gcoord };
const gcoord: Gcoord = loadedGcoord.default ?? loadedGcoord;

let cached: DistrictBoundaries | undefined;

/**
 * The real Shenzhen district boundaries (data/shenzhen-districts.gcj02.geojson, GCJ-02) converted to
 * WGS84, with English names and bounding boxes. Loaded once per process.
 *
 * The conversion is done here with gcoord until `engine/geo/shenzhenDistricts.ts` (issue 3) lands;
 * then this delegates to it.
 *
 * @example
 * const { districts } = loadDistrictBoundaries();
 * districts.find((d) => d.code === '440304')?.nameEn; // 'Futian'
 */
export function loadDistrictBoundaries(): DistrictBoundaries {
  if (cached) return cached;
  const raw = JSON.parse(
    readFileSync(resolve(PROJECT_ROOT, 'data', 'shenzhen-districts.gcj02.geojson'), 'utf8'),
  ) as {
    features: Array<{ id: string; properties: { name: string; cp: [number, number] }; geometry: never }>;
  };
  const features: GeoJsonFeature[] = [];
  const districts: DistrictInfo[] = [];
  for (const feature of raw.features) {
    const geometry = gcoord.transform(
      feature.geometry,
      gcoord.GCJ02,
      gcoord.WGS84,
    ) as unknown as GeoJsonFeature['geometry'];
    const label = gcoord.transform(feature.properties.cp, gcoord.GCJ02, gcoord.WGS84) as [number, number];
    const code = String(feature.id);
    const info: DistrictInfo = {
      code,
      nameZh: feature.properties.name,
      nameEn: ENGLISH_NAMES[code] ?? code,
      label: [round6(label[0]), round6(label[1])],
      bbox: boundingBox(geometry),
    };
    districts.push(info);
    features.push({
      type: 'Feature',
      id: code,
      properties: { code, name_zh: info.nameZh, name_en: info.nameEn, label: info.label },
      geometry,
    });
  }
  districts.sort((a, b) => a.code.localeCompare(b.code));
  cached = { geojson: { type: 'FeatureCollection', features }, districts };
  return cached;
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function boundingBox(geometry: GeoJsonFeature['geometry']): [number, number, number, number] {
  const box: [number, number, number, number] = [180, 90, -180, -90];
  const visit = (node: unknown): void => {
    if (Array.isArray(node) && typeof node[0] === 'number') {
      const [lon, lat] = node as [number, number];
      box[0] = Math.min(box[0], lon);
      box[1] = Math.min(box[1], lat);
      box[2] = Math.max(box[2], lon);
      box[3] = Math.max(box[3], lat);
    } else if (Array.isArray(node)) {
      for (const child of node) visit(child);
    }
  };
  visit(geometry.coordinates);
  return box;
}

/** Districts whose bounding box intersects `bbox` ([west, south, east, north]). */
export function districtsInBox(
  districts: readonly DistrictInfo[],
  bbox: readonly [number, number, number, number],
): string[] {
  const [w, s, e, n] = bbox;
  return districts
    .filter((d) => d.bbox[0] <= e && d.bbox[2] >= w && d.bbox[1] <= n && d.bbox[3] >= s)
    .map((d) => d.code);
}
