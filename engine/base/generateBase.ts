import { latLngToCell } from 'h3-js';
import { type BuildingUse, INDUSTRIES, type Industry } from '../contract/baseLibraries.ts';
import { CELL_RESOLUTION } from '../geo/cells.ts';
import {
  buildCityModel,
  M_PER_DEG_LAT,
  M_PER_DEG_LNG,
  type PopulationCell,
  round6,
} from '../simulator/cityModel.ts';
import { fakeName, fakePhone, residentIdNumber } from '../simulator/fakeReporter.ts';
import { SeededRandom } from '../simulator/SeededRandom.ts';
import { WeightedPicker } from '../simulator/WeightedPicker.ts';
import { apportion } from './apportion.ts';

/** The seed's figures for Shenzhen (../shared/SEED.md): the libraries at scale 1.0. */
export const FULL_SCALE = {
  buildings: 830_000,
  dwellings: 13_510_000,
  people: 18_440_000,
  legalPersons: 2_880_000,
};

export interface BuildingRow {
  building_id: string;
  district: string;
  cell: string;
  lat: number;
  lon: number;
  use: BuildingUse;
  floors: number;
}
export interface DwellingRow {
  building_id: string;
  dwelling_id: string;
  floor_area_m2: number;
  rooms: number;
}
export interface LegalPersonRow {
  building_id: string;
  legal_person_id: string;
  industry: Industry;
  employees: number;
}
export interface PersonRow {
  person_id: string;
  building_id: string;
  dwelling_id: string;
  name: string;
  id_number: string;
  phone: string;
  /** YYYY-MM-DD. */
  birth_date: string;
  /** Days since 1970-01-01 (negative before). */
  birth_day: number;
}

/** Where the generator's rows go, a batch at a time (awaited, so a slow store slows the generator). */
export interface BaseSink {
  buildings(rows: BuildingRow[]): Promise<void>;
  dwellings(rows: DwellingRow[]): Promise<void>;
  legalPersons(rows: LegalPersonRow[]): Promise<void>;
  people(rows: PersonRow[]): Promise<void>;
}

export interface BaseGeneration {
  readonly scale: number;
  readonly seed: number;
  /** Rows per batch handed to the sink. */
  readonly batch?: number;
  readonly progress?: (table: string, done: number, total: number) => void;
}

/** Industries' shares among legal persons (about Shenzhen's mix; schools and hospitals are rare). */
const INDUSTRY_WEIGHTS: Readonly<Record<Industry, number>> = {
  school: 0.004,
  hospital: 0.0015,
  chemical: 0.002,
  hazardous_storage: 0.0015,
  manufacturing: 0.15,
  logistics: 0.06,
  retail: 0.3,
  catering: 0.1,
  office: 0.3,
  other: 0.0805,
};
/** Ages by band of the 2020 census (young city): [from, to) in years, share. */
const AGE_MIX: ReadonlyArray<readonly [number, number, number]> = [
  [0, 14, 0.151],
  [14, 30, 0.3],
  [30, 45, 0.33],
  [45, 65, 0.187],
  [65, 95, 0.032],
];
/** The day the generated ages are counted from (the libraries' first versions are valid from 2000). */
const AGE_REFERENCE_MS = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;

/**
 * Generates the base libraries, deterministically for a seed: buildings placed in the simulator's H3 cells
 * by the people who live and work there (so inside the real district boundaries, dense where the city is),
 * dwellings in residential and mixed buildings by their floors, people registered at dwellings with ages
 * of the 2020 census mix, and legal persons at buildings by the jobs around them. Personal data (names, ID
 * numbers, phones) is generated, never real.
 */
export async function generateBase(options: BaseGeneration, sink: BaseSink): Promise<typeof FULL_SCALE> {
  const count = scaled(options.scale);
  const batch = options.batch ?? 20_000;
  const random = new SeededRandom(options.seed ^ 0xba5e);
  const city = buildCityModel(options.seed);
  const buildings = placeBuildings(city.cells, count.buildings, random.fork(), city.districtCodes);
  for (let i = 0; i < buildings.length; i += batch) {
    await sink.buildings(buildings.slice(i, i + batch));
    options.progress?.('buildings', Math.min(i + batch, buildings.length), buildings.length);
  }
  const dwellingsPer = apportion(
    buildings.map((b) => (b.use === 'residential' ? b.floors : b.use === 'mixed' ? b.floors / 2 : 0)),
    count.dwellings,
  );
  const dwellingBuilding = new Int32Array(count.dwellings);
  const dwellingRandom = random.fork();
  let rows: DwellingRow[] = [];
  let d = 0;
  for (let b = 0; b < buildings.length; b++) {
    for (let k = 0; k < dwellingsPer[b]!; k++, d++) {
      dwellingBuilding[d] = b;
      const rooms = 1 + dwellingRandom.int(4);
      rows.push({
        building_id: buildings[b]!.building_id,
        dwelling_id: dwellingId(d),
        floor_area_m2: 25 + rooms * 20 + dwellingRandom.int(30),
        rooms,
      });
      if (rows.length === batch) {
        await sink.dwellings(rows);
        options.progress?.('dwellings', d + 1, count.dwellings);
        rows = [];
      }
    }
  }
  if (rows.length > 0) await sink.dwellings(rows);
  await generatePeople(
    count.people,
    buildings,
    dwellingBuilding,
    random.fork(),
    batch,
    sink,
    options.progress,
  );
  await generateLegalPersons(count.legalPersons, buildings, random.fork(), batch, sink, options.progress);
  return count;
}

/** The four counts at a scale (at least one of each, so that any scale has something to join). */
export function scaled(scale: number): typeof FULL_SCALE {
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`scale must be in (0, 1], got ${scale}`);
  const of = (n: number) => Math.max(1, Math.round(n * scale));
  return {
    buildings: of(FULL_SCALE.buildings),
    dwellings: of(FULL_SCALE.dwellings),
    people: of(FULL_SCALE.people),
    legalPersons: of(FULL_SCALE.legalPersons),
  };
}

export const buildingId = (i: number) => `B${String(i).padStart(7, '0')}`;
export const dwellingId = (i: number) => `D${String(i).padStart(8, '0')}`;
export const personId = (i: number) => `P${String(i).padStart(8, '0')}`;
export const legalPersonId = (i: number) => `L${String(i).padStart(7, '0')}`;

function placeBuildings(
  cells: readonly PopulationCell[],
  total: number,
  random: SeededRandom,
  districtCodes: readonly string[],
): BuildingRow[] {
  const picker = new WeightedPicker(cells.map((c) => c.residents + c.workers));
  const buildings: BuildingRow[] = [];
  for (let i = 0; i < total; i++) {
    const cell = cells[picker.draw(random)]!;
    const [lat, lon] = pointInCell(cell, random);
    const homeShare = cell.residents / Math.max(1, cell.residents + cell.workers);
    const roll = random.next();
    const use: BuildingUse =
      roll < 0.03
        ? 'public'
        : roll < 0.03 + homeShare * 0.75
          ? 'residential'
          : roll < 0.85
            ? 'mixed'
            : 'commercial';
    const industrial = use === 'commercial' && random.chance(0.4);
    buildings.push({
      building_id: '',
      district: districtCodes[cell.district]!,
      cell: cell.cell,
      lat,
      lon,
      use: industrial ? 'industrial' : use,
      floors: use === 'residential' ? 6 + random.int(28) : 2 + random.int(12),
    });
  }
  // Ids in the order of their H3 cells, which keeps neighbours close in every table sorted by building:
  // the rows of the buildings around an incident share a few granules instead of one each.
  buildings.sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
  buildings.forEach((b, i) => {
    b.building_id = buildingId(i);
  });
  return buildings;
}

/** A point within about 300 m of the cell's centre that lies in the cell (the centre if none is found). */
function pointInCell(cell: PopulationCell, random: SeededRandom): [number, number] {
  for (let attempt = 0; attempt < 8; attempt++) {
    const r = 300 * Math.sqrt(random.next());
    const a = 2 * Math.PI * random.next();
    const lat = round6(cell.lat + (r * Math.sin(a)) / M_PER_DEG_LAT);
    const lon = round6(cell.lng + (r * Math.cos(a)) / M_PER_DEG_LNG);
    if (latLngToCell(lat, lon, CELL_RESOLUTION) === cell.cell) return [lat, lon];
  }
  return [cell.lat, cell.lng];
}

async function generatePeople(
  total: number,
  buildings: readonly BuildingRow[],
  dwellingBuilding: Int32Array,
  random: SeededRandom,
  batch: number,
  sink: BaseSink,
  progress: BaseGeneration['progress'],
): Promise<void> {
  const ages = new WeightedPicker(AGE_MIX.map((a) => a[2]));
  let rows: PersonRow[] = [];
  for (let p = 0; p < total; p++) {
    const dwelling = random.int(dwellingBuilding.length);
    const building = buildings[dwellingBuilding[dwelling]!]!;
    const [from, to] = AGE_MIX[ages.draw(random)]!;
    const birthMs = AGE_REFERENCE_MS - Math.floor(random.between(from, to) * 365.25 * DAY_MS);
    const birth_day = Math.floor(birthMs / DAY_MS);
    const birth_date = new Date(birth_day * DAY_MS).toISOString().slice(0, 10);
    rows.push({
      person_id: personId(p),
      building_id: building.building_id,
      dwelling_id: dwellingId(dwelling),
      name: fakeName(random),
      id_number: residentIdNumber(building.district, birth_date.replaceAll('-', ''), random.int(1000)),
      phone: fakePhone(random),
      birth_date,
      birth_day,
    });
    if (rows.length === batch) {
      await sink.people(rows);
      progress?.('people', p + 1, total);
      rows = [];
    }
  }
  if (rows.length > 0) await sink.people(rows);
}

async function generateLegalPersons(
  total: number,
  buildings: readonly BuildingRow[],
  random: SeededRandom,
  batch: number,
  sink: BaseSink,
  progress: BaseGeneration['progress'],
): Promise<void> {
  const siteWeight = { residential: 0.2, mixed: 2, commercial: 4, industrial: 3, public: 1 } as const;
  const sites = new WeightedPicker(buildings.map((b) => siteWeight[b.use]));
  const publicSites = buildings.filter((b) => b.use === 'public');
  const industries = new WeightedPicker(INDUSTRIES.map((i) => INDUSTRY_WEIGHTS[i]));
  let rows: LegalPersonRow[] = [];
  for (let l = 0; l < total; l++) {
    const industry = INDUSTRIES[industries.draw(random)]!;
    const publicService = (industry === 'school' || industry === 'hospital') && publicSites.length > 0;
    const building = publicService ? random.pick(publicSites) : buildings[sites.draw(random)]!;
    const employees =
      industry === 'hospital' ? 200 + random.int(2000) : 1 + Math.floor(random.next() ** 3 * 500);
    rows.push({ building_id: building.building_id, legal_person_id: legalPersonId(l), industry, employees });
    if (rows.length === batch) {
      await sink.legalPersons(rows);
      progress?.('legal persons', l + 1, total);
      rows = [];
    }
  }
  if (rows.length > 0) await sink.legalPersons(rows);
}
