import { cellToLatLng, polygonToCells } from 'h3-js';
import { type ShenzhenDistricts, shenzhenDistricts } from '../geo/shenzhenDistricts.ts';
import { METRO_LINES } from './metroLines.ts';
import { SeededRandom } from './SeededRandom.ts';
import { WeightedPicker } from './WeightedPicker.ts';

/** H3 resolution of the population cells (about 0.74 km² a cell; Shenzhen has about 3 000 of them). */
export const POPULATION_H3_RESOLUTION = 8;
/** Spacing of the points of a densified route, in metres: vehicle positions snap to them. */
export const ROUTE_STEP_M = 25;
/** Metres per degree of latitude, and of longitude at Shenzhen's latitude (22.6° N). */
export const M_PER_DEG_LAT = 110_750;
export const M_PER_DEG_LNG = 102_780;

/** A metro line or bus route, densified to one point every `ROUTE_STEP_M` metres, all inside the city. */
export interface RoutePath {
  readonly id: string;
  readonly mode: 'metro' | 'bus';
  readonly lngs: Float64Array;
  readonly lats: Float64Array;
  /** Per point, the JSON fragment `"lat":…,"lon":…` as published (built once: number formatting is slow). */
  readonly positions: readonly string[];
  /** The same fragments encoded back to back; point i is `positionBytes[positionOffsets[i]..positionOffsets[i + 1])`. */
  readonly positionBytes: Uint8Array;
  readonly positionOffsets: Uint32Array;
  readonly lengthM: number;
}

/** One vehicle of the fleet. Its position is a pure function of time (see `simulateCity.ts`). */
export interface Vehicle {
  readonly id: string;
  readonly mode: 'metro' | 'bus' | 'taxi';
  /** Metro line or bus route it runs along; null for taxis and coaches. */
  readonly route: RoutePath | null;
  /** The published `route` (line or route id, 'cross-border' for coaches); null for taxis. */
  readonly routeId: string | null;
  /** Where along the route (metres, on the there-and-back loop of 2 x length) the vehicle is at t = 0. */
  readonly phaseM: number;
  /** Average speed along the route including stops, m/s. */
  readonly speedMps: number;
  /** Seats plus standing room. */
  readonly capacity: number;
  /** Taxis roam on a Lissajous figure around a home point: lng = home + amp * sin(w t + phase), t in s. */
  readonly homeLng: number;
  readonly homeLat: number;
  readonly ampLng: number;
  readonly ampLat: number;
  readonly wLng: number;
  readonly wLat: number;
  readonly phaseLng: number;
  readonly phaseLat: number;
  /** The JSON fragment `"vehicle":"…","mode":"…"` (and `,"route":"…"`) of its records. */
  readonly fragment: string;
  /** `fragment` encoded (ASCII). */
  readonly fragmentBytes: Uint8Array;
}

/** A vehicle with every field in one order, so that all vehicles share one object shape (fast to read). */
export function makeVehicle(
  fields: Omit<Vehicle, 'fragment' | 'fragmentBytes' | 'routeId' | keyof ReturnType<typeof roamingAround>> &
    Partial<ReturnType<typeof roamingAround>> & { routeId?: string },
): Vehicle {
  const routeId = fields.route?.id ?? fields.routeId ?? null;
  const fragment = `"vehicle":"${fields.id}","mode":"${fields.mode}"${routeId === null ? '' : `,"route":"${routeId}"`}`;
  return {
    id: fields.id,
    mode: fields.mode,
    route: fields.route,
    routeId,
    phaseM: fields.phaseM,
    speedMps: fields.speedMps,
    capacity: fields.capacity,
    homeLng: fields.homeLng ?? 0,
    homeLat: fields.homeLat ?? 0,
    ampLng: fields.ampLng ?? 0,
    ampLat: fields.ampLat ?? 0,
    wLng: fields.wLng ?? 0,
    wLat: fields.wLat ?? 0,
    phaseLng: fields.phaseLng ?? 0,
    phaseLat: fields.phaseLat ?? 0,
    fragment,
    fragmentBytes: Buffer.from(fragment, 'latin1'),
  };
}

/** One H3 cell of the population stream. */
export interface PopulationCell {
  readonly cell: string;
  /** Cell centre, rounded to 6 decimals as published. */
  readonly lng: number;
  readonly lat: number;
  /** Position of the district in `CityModel.districtCodes`. */
  readonly district: number;
  /** People who live here (present at night). */
  readonly residents: number;
  /** People who work here (present in working hours). */
  readonly workers: number;
  /** The JSON fragment `"h3":"…","lat":…,"lon":…` of its records, encoded (ASCII). */
  readonly fragmentBytes: Uint8Array;
}

/** Everything the generator draws from: districts, routes, fleet, population cells. Built once per seed. */
export interface CityModel {
  readonly seed: number;
  readonly geography: ShenzhenDistricts;
  /** District codes in the district index's order (`index.ids`). */
  readonly districtCodes: readonly string[];
  readonly routes: readonly RoutePath[];
  /** Every vehicle, shuffled so that any prefix of the list mixes metro, buses and taxis. */
  readonly fleet: readonly Vehicle[];
  /** Population cells in the (shuffled) order in which they report. */
  readonly cells: readonly PopulationCell[];
  /** Draws a cell for an incident, weighted by the people around (residents + workers). */
  readonly incidentCells: WeightedPicker;
  /** Per district (by position): its cells and a weighted picker over them. */
  readonly cellsByDistrict: ReadonlyArray<{
    readonly cells: readonly PopulationCell[];
    readonly picker: WeightedPicker;
  }>;
  /** Points just outside the city (Dongguan, Huizhou, the Hong Kong side): `[lng, lat]` pairs. */
  readonly outsidePoints: Float64Array;
}

const BUS_ROUTES = 180;
const TAXIS = 3_200;
const RESIDENTS = 18_000_000;
const WORKERS = 8_000_000;

/** Centres of activity: [lng, lat, jobs weight, homes weight, sigma km] (approximate, WGS84). */
const HUBS: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [114.055, 22.537, 1.0, 1.2, 2.0], // Futian CBD
  [114.085, 22.545, 0.8, 1.0, 1.5], // Huaqiangbei
  [114.118, 22.545, 0.8, 0.6, 2.0], // Luohu, Dongmen
  [113.947, 22.54, 1.0, 0.3, 2.0], // Nanshan science park
  [113.936, 22.518, 0.6, 0.3, 1.5], // Houhai
  [113.895, 22.535, 0.4, 0.1, 2.0], // Qianhai
  [113.88, 22.56, 0.5, 0.6, 2.5], // Bao'an centre
  [113.87, 22.585, 0.3, 0.5, 3.0], // Xixiang
  [113.82, 22.67, 0.3, 0.4, 3.0], // Fuyong
  [113.83, 22.73, 0.3, 0.4, 3.0], // Shajing
  [113.84, 22.78, 0.2, 0.35, 3.0], // Songgang
  [113.93, 22.75, 0.2, 0.35, 3.0], // Guangming
  [114.03, 22.61, 0.5, 0.4, 2.5], // Shenzhen North
  [114.03, 22.665, 0.3, 0.7, 2.5], // Longhua centre
  [114.06, 22.72, 0.2, 0.5, 3.0], // Guanlan
  [114.065, 22.63, 0.5, 0.4, 2.0], // Bantian
  [114.116, 22.603, 0.4, 0.7, 2.0], // Buji
  [114.2, 22.65, 0.2, 0.6, 3.0], // Henggang
  [114.247, 22.72, 0.4, 0.6, 2.5], // Longgang centre
  [114.27, 22.58, 0.3, 0.2, 2.0], // Yantian port
  [114.35, 22.7, 0.2, 0.4, 2.5], // Pingshan
];

const cache = new Map<number, CityModel>();

/**
 * Builds (once per seed, then cached) the simulated city: metro lines along their real alignments, bus
 * routes drawn through the districts, a taxi fleet, and people per H3 cell with residents and workers
 * placed around the city's centres of activity. Deterministic: same seed, same city.
 *
 * @example
 * const city = buildCityModel(1);
 * city.fleet.length; // about 5 800 vehicles
 */
export function buildCityModel(seed: number): CityModel {
  const cached = cache.get(seed);
  if (cached !== undefined) return cached;
  const random = new SeededRandom(seed ^ 0x5eed);
  const geography = shenzhenDistricts();
  const { index } = geography;
  const districtCodes = index.ids;
  const inside = (lng: number, lat: number) => index.lookupIndex(lng, lat) >= 0;

  const cells = buildCells(geography, random.fork());
  const cellWeight = (c: PopulationCell) => c.residents + c.workers;
  const incidentCells = new WeightedPicker(cells.map(cellWeight));
  const cellsByDistrict = districtCodes.map((_, d) => {
    const own = cells.filter((c) => c.district === d);
    return { cells: own, picker: new WeightedPicker(own.map(cellWeight)) };
  });

  const routes: RoutePath[] = [];
  for (const line of METRO_LINES) {
    const path = densify(line.id, 'metro', line.stations, inside);
    if (path !== null) routes.push(path);
  }
  const busRandom = random.fork();
  const routeNumbers = shuffle(
    Array.from({ length: 998 }, (_, i) => i + 1),
    busRandom,
  );
  for (let r = 0; r < BUS_ROUTES; r++) {
    const number = routeNumbers[r]!;
    const id = busRandom.chance(0.3) ? `M${number}` : String(number);
    const path = densify(id, 'bus', drawBusRoute(cells, incidentCells, busRandom, inside), inside);
    if (path !== null) routes.push(path);
  }

  const fleetRandom = random.fork();
  const fleet: Vehicle[] = [];
  for (const route of routes) {
    const km = route.lengthM / 1000;
    const count =
      route.mode === 'metro' ? Math.max(6, Math.round(km / 1.2)) : Math.max(3, Math.round(km / 0.8));
    for (let k = 0; k < count; k++) {
      const number = String(k + 1).padStart(route.mode === 'metro' ? 3 : 2, '0');
      fleet.push(
        makeVehicle({
          id: `${route.mode}-${route.id}-${number}`,
          mode: route.mode,
          route,
          phaseM: ((k + fleetRandom.next() * 0.5) / count) * 2 * route.lengthM,
          speedMps:
            (route.mode === 'metro' ? fleetRandom.between(32, 40) : fleetRandom.between(14, 22)) / 3.6,
          capacity: route.mode === 'metro' ? 1_860 : 90,
        }),
      );
    }
  }
  const plates = new Set<string>();
  for (let k = 0; k < TAXIS; k++) {
    let plate: string;
    // Plates as exchange systems spell them, romanised: 粤B·D12345 is BD12345 (ASCII keeps records one byte a
    // character, which the producer encodes much faster).
    do
      plate = `B${fleetRandom.pick(['D', 'D', 'D', 'T', 'L'])}${String(fleetRandom.int(100_000)).padStart(5, '0')}`;
    while (plates.has(plate));
    plates.add(plate);
    const home = cells[incidentCells.draw(fleetRandom)]!;
    fleet.push(
      makeVehicle({
        ...roamingAround(home.lng, home.lat, fleetRandom),
        id: `taxi-${plate}`,
        mode: 'taxi',
        route: null,
        phaseM: 0,
        speedMps: 0,
        capacity: 4,
      }),
    );
  }
  shuffle(fleet, fleetRandom);

  const model: CityModel = Object.freeze({
    seed,
    geography,
    districtCodes,
    routes: Object.freeze(routes),
    fleet: Object.freeze(fleet),
    cells: Object.freeze(shuffle(cells.slice(), random.fork())),
    incidentCells,
    cellsByDistrict: Object.freeze(cellsByDistrict),
    outsidePoints: drawOutsidePoints(geography, random.fork()),
  });
  cache.set(seed, model);
  return model;
}

/** Lissajous roaming parameters: 0.6-3.3 km amplitudes, 30-70 min periods (peak speeds up to ~40 km/h). */
export function roamingAround(lng: number, lat: number, random: SeededRandom, scale = 1) {
  return {
    homeLng: lng,
    homeLat: lat,
    ampLng: random.between(0.006, 0.032) * scale,
    ampLat: random.between(0.006, 0.03) * scale,
    wLng: (2 * Math.PI) / random.between(1_800, 4_200),
    wLat: (2 * Math.PI) / random.between(1_800, 4_200),
    phaseLng: random.next() * 2 * Math.PI,
    phaseLat: random.next() * 2 * Math.PI,
  };
}

function buildCells(geography: ShenzhenDistricts, random: SeededRandom): PopulationCell[] {
  const { index } = geography;
  const seen = new Set<string>();
  const raw: Array<{ cell: string; lng: number; lat: number; district: number; home: number; work: number }> =
    [];
  geography.featureCollection.features.forEach((feature) => {
    const polygons =
      feature.geometry.type === 'Polygon' ? [feature.geometry.coordinates] : feature.geometry.coordinates;
    for (const polygon of polygons) {
      for (const cell of polygonToCells(polygon as number[][][], POPULATION_H3_RESOLUTION, true).sort()) {
        if (seen.has(cell)) continue;
        seen.add(cell);
        const [exactLat, exactLng] = cellToLatLng(cell);
        const lat = round6(exactLat);
        const lng = round6(exactLng);
        const district = index.lookupIndex(lng, lat);
        // Keep cells whose published (rounded) centre lies in the same district as the exact one, so the
        // engine finds the same district whether it locates the cell by its index or by lat/lon.
        if (district < 0 || district !== index.lookupIndex(exactLng, exactLat)) continue;
        let work = 0.02;
        let home = 0.08;
        for (const [hLng, hLat, jobs, homes, sigmaKm] of HUBS) {
          const dx = ((lng - hLng) * M_PER_DEG_LNG) / 1000;
          const dy = ((lat - hLat) * M_PER_DEG_LAT) / 1000;
          const d2 = dx * dx + dy * dy;
          work += jobs * Math.exp(-d2 / (2 * sigmaKm * sigmaKm));
          home += homes * Math.exp(-d2 / (2 * (1.6 * sigmaKm) ** 2));
        }
        raw.push({ cell, lng, lat, district, home, work });
      }
    }
  });
  raw.sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
  const homes = raw.map((c) => c.home * Math.exp(0.35 * random.normal()));
  const works = raw.map((c) => c.work * Math.exp(0.35 * random.normal()));
  const homeTotal = homes.reduce((s, w) => s + w, 0);
  const workTotal = works.reduce((s, w) => s + w, 0);
  return raw.map((c, i) =>
    Object.freeze({
      cell: c.cell,
      lng: c.lng,
      lat: c.lat,
      district: c.district,
      residents: Math.round((RESIDENTS * homes[i]!) / homeTotal),
      workers: Math.round((WORKERS * works[i]!) / workTotal),
      fragmentBytes: Buffer.from(`"h3":"${c.cell}","lat":${c.lat},"lon":${c.lng}`, 'latin1'),
    }),
  );
}

/** A bus route: from a busy cell, 3-6 legs of 1.2-4 km with gently turning headings, every stop inside. */
function drawBusRoute(
  cells: readonly PopulationCell[],
  picker: WeightedPicker,
  random: SeededRandom,
  inside: (lng: number, lat: number) => boolean,
): Array<[number, number]> {
  const start = cells[picker.draw(random)]!;
  const points: Array<[number, number]> = [[start.lng, start.lat]];
  let heading = random.next() * 2 * Math.PI;
  const legs = 3 + random.int(4);
  for (let leg = 0; leg < legs; leg++) {
    const [lng, lat] = points[points.length - 1]!;
    for (let attempt = 0; attempt < 8; attempt++) {
      const turn = heading + random.normal() * (attempt === 0 ? 0.5 : 1.5);
      const distance = random.between(1_200, 4_000);
      const next: [number, number] = [
        lng + (Math.cos(turn) * distance) / M_PER_DEG_LNG,
        lat + (Math.sin(turn) * distance) / M_PER_DEG_LAT,
      ];
      if (inside(next[0], next[1])) {
        points.push(next);
        heading = turn;
        break;
      }
    }
  }
  return points;
}

/**
 * Densifies a polyline to one point every ROUTE_STEP_M metres. A point outside the city (a coarse coastline)
 * is replaced by the last point inside, so a vehicle waits there instead of driving through the sea.
 */
function densify(
  id: string,
  mode: 'metro' | 'bus',
  waypoints: ReadonlyArray<readonly [number, number]>,
  inside: (lng: number, lat: number) => boolean,
): RoutePath | null {
  if (waypoints.length < 2) return null;
  const lngs: number[] = [];
  const lats: number[] = [];
  for (let i = 0; i + 1 < waypoints.length; i++) {
    const [aLng, aLat] = waypoints[i]!;
    const [bLng, bLat] = waypoints[i + 1]!;
    const meters = Math.hypot((bLng - aLng) * M_PER_DEG_LNG, (bLat - aLat) * M_PER_DEG_LAT);
    const steps = Math.max(1, Math.ceil(meters / ROUTE_STEP_M));
    for (let s = 0; s < steps; s++) {
      lngs.push(aLng + ((bLng - aLng) * s) / steps);
      lats.push(aLat + ((bLat - aLat) * s) / steps);
    }
  }
  const [lastLng, lastLat] = waypoints[waypoints.length - 1]!;
  lngs.push(lastLng);
  lats.push(lastLat);
  const firstInside = lngs.findIndex((lng, i) => inside(round6(lng), round6(lats[i]!)));
  if (firstInside < 0) return null;
  let keepLng = round6(lngs[firstInside]!);
  let keepLat = round6(lats[firstInside]!);
  for (let i = 0; i < lngs.length; i++) {
    const lng = round6(lngs[i]!);
    const lat = round6(lats[i]!);
    if (inside(lng, lat)) {
      keepLng = lng;
      keepLat = lat;
    }
    lngs[i] = keepLng;
    lats[i] = keepLat;
  }
  const positions = lngs.map((lng, i) => `"lat":${lats[i]},"lon":${lng}`);
  const positionOffsets = new Uint32Array(positions.length + 1);
  positions.forEach((text, i) => {
    positionOffsets[i + 1] = positionOffsets[i]! + text.length;
  });
  return Object.freeze({
    id,
    mode,
    lngs: Float64Array.from(lngs),
    lats: Float64Array.from(lats),
    positions: Object.freeze(positions),
    positionBytes: Buffer.from(positions.join(''), 'latin1'),
    positionOffsets,
    lengthM: (lngs.length - 1) * ROUTE_STEP_M,
  });
}

/** Points outside every district but within ~2 km of one: the Dongguan and Huizhou side, and Hong Kong's. */
function drawOutsidePoints(geography: ShenzhenDistricts, random: SeededRandom): Float64Array {
  const { index } = geography;
  const [minLng, minLat, maxLng, maxLat] = index.bbox;
  const near = 0.018;
  const points: number[] = [];
  for (let attempt = 0; attempt < 200_000 && points.length < 2 * 1_500; attempt++) {
    const lng = round6(random.between(minLng - 0.03, maxLng + 0.03));
    const lat = round6(random.between(minLat - 0.03, maxLat + 0.03));
    const land = lat > 22.62 || (lng > 113.98 && lng < 114.22 && lat > 22.46 && lat < 22.53);
    if (!land || index.lookupIndex(lng, lat) >= 0) continue;
    let close = false;
    for (let k = 0; k < 8 && !close; k++) {
      const angle = (k * Math.PI) / 4;
      close = index.lookupIndex(lng + near * Math.cos(angle), lat + near * Math.sin(angle)) >= 0;
    }
    if (close) points.push(lng, lat);
  }
  return Float64Array.from(points);
}

/** Rounds degrees to 6 decimals (about 0.1 m), as positions are published. */
export function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function shuffle<T>(items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const swap = items[i]!;
    items[i] = items[j]!;
    items[j] = swap;
  }
  return items;
}
