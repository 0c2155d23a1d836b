import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AreaFeatureCollection, DistrictIndex } from '../../operators/geo/DistrictIndex.ts';
import { gcj02ToWgs84 } from '../../operators/geo/gcj02ToWgs84.ts';

/** One Shenzhen district as the vendored data knows it (about 2017). */
export interface ShenzhenDistrict {
  /** Official administrative code, e.g. `'440304'`. */
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  /** The data's label point, WGS84 `[lng, lat]`. */
  readonly labelPoint: readonly [number, number];
}

/** Everything `shenzhenDistricts()` returns. */
export interface ShenzhenDistricts {
  /** District boundaries converted to WGS84; feature `id` = district code. */
  readonly featureCollection: AreaFeatureCollection;
  /** Point -> district code, WGS84 (`index.lookup(lng, lat)`). */
  readonly index: DistrictIndex;
  /** The eight districts, in code order. */
  readonly districts: readonly ShenzhenDistrict[];
  /** District by code. */
  readonly byCode: ReadonlyMap<string, ShenzhenDistrict>;
}

/**
 * English names by code. The data predates 2018: Guangming (440311) is inside Bao'an (440306) and the Dapeng
 * New Area inside Longgang (440307); city-ops reports them as part of those and invents no borders.
 */
const ENGLISH_NAMES: Readonly<Record<string, string>> = {
  '440303': 'Luohu',
  '440304': 'Futian',
  '440305': 'Nanshan',
  '440306': "Bao'an",
  '440307': 'Longgang',
  '440308': 'Yantian',
  '440309': 'Longhua',
  '440310': 'Pingshan',
};

const DEFAULT_PATH = fileURLToPath(new URL('../../data/shenzhen-districts.gcj02.geojson', import.meta.url));
const loaded = new Map<string, ShenzhenDistricts>();

interface RawFeature {
  readonly id: string;
  readonly properties: { readonly name: string; readonly cp: [number, number] };
}

/**
 * Loads the vendored Shenzhen district boundaries (`data/shenzhen-districts.gcj02.geojson`, GCJ-02), converts
 * them to WGS84 and builds a `DistrictIndex`. Read once per path and cached; the result is frozen data.
 *
 * @param path another copy of the file (tests); default the vendored one
 * @example
 * const { index, byCode } = shenzhenDistricts();
 * byCode.get(index.lookup(114.05, 22.54)!)?.nameEn; // 'Futian'
 */
export function shenzhenDistricts(path = DEFAULT_PATH): ShenzhenDistricts {
  const cached = loaded.get(path);
  if (cached !== undefined) return cached;
  const raw = JSON.parse(readFileSync(path, 'utf8')) as AreaFeatureCollection;
  const featureCollection = gcj02ToWgs84(raw);
  const districts = (featureCollection.features as unknown as RawFeature[])
    .map((feature): ShenzhenDistrict => {
      const code = String(feature.id);
      const labelPoint = gcj02ToWgs84([feature.properties.cp[0], feature.properties.cp[1]] as [
        number,
        number,
      ]);
      return Object.freeze({
        code,
        nameZh: feature.properties.name,
        nameEn: ENGLISH_NAMES[code] ?? code,
        labelPoint: Object.freeze(labelPoint) as readonly [number, number],
      });
    })
    .sort((a, b) => a.code.localeCompare(b.code));
  const result: ShenzhenDistricts = Object.freeze({
    featureCollection,
    index: DistrictIndex.fromFeatureCollection(featureCollection),
    districts: Object.freeze(districts),
    byCode: new Map(districts.map((d) => [d.code, d])),
  });
  loaded.set(path, result);
  return result;
}
