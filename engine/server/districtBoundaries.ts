import { shenzhenDistricts } from '../geo/shenzhenDistricts.ts';

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

let cached: DistrictBoundaries | undefined;

/**
 * The real Shenzhen district boundaries in WGS84 (from `engine/geo/shenzhenDistricts.ts`, which converts the
 * vendored GCJ-02 data), shaped for the map: English names, label points and bounding boxes. Loaded once.
 *
 * @example
 * const { districts } = loadDistrictBoundaries();
 * districts.find((d) => d.code === '440304')?.nameEn; // 'Futian'
 */
export function loadDistrictBoundaries(): DistrictBoundaries {
  if (cached) return cached;
  const { featureCollection, byCode } = shenzhenDistricts();
  const features: GeoJsonFeature[] = [];
  const districts: DistrictInfo[] = [];
  for (const feature of featureCollection.features) {
    const code = String(feature.id);
    const district = byCode.get(code);
    if (!district) continue;
    const geometry = feature.geometry as unknown as GeoJsonFeature['geometry'];
    const info: DistrictInfo = {
      code,
      nameZh: district.nameZh,
      nameEn: district.nameEn,
      label: [round6(district.labelPoint[0]), round6(district.labelPoint[1])],
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
