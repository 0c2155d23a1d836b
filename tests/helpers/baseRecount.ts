import { latLngToCell } from 'h3-js';
import type {
  BaseSink,
  BuildingRow,
  DwellingRow,
  LegalPersonRow,
  PersonRow,
} from '../../engine/base/generateBase.ts';
import { CELL_RESOLUTION } from '../../engine/geo/cells.ts';
import type { IncidentOpening } from '../../engine/pipeline/incidentImpact.ts';

/** A change applied to the libraries in memory, as the tests also write it to ClickHouse. */
export type BaseChange =
  | { kind: 'move'; person_id: string; to_building: string; at: number }
  | { kind: 'demolish'; building_id: string; at: number }
  | { kind: 'open'; legal_person_id: string; building_id: string; industry: string; at: number }
  | { kind: 'remove'; person_id: string; at: number }
  | { kind: 'register'; person: PersonRow; at: number };

/**
 * The libraries as plain arrays (the generator's output, kept by a sink), with the brute-force recount the
 * tests compare the engine's join against: every row looked at for every incident, no index, no versions
 * table, ages from the birth date's text.
 */
export class BaseRecount implements BaseSink {
  readonly buildingRows: BuildingRow[] = [];
  readonly dwellingRows: DwellingRow[] = [];
  readonly legalRows: LegalPersonRow[] = [];
  readonly personRows: PersonRow[] = [];
  readonly changes: BaseChange[] = [];
  #byBuilding: Map<string, PersonRow[]> | undefined;
  #byId: Map<string, PersonRow> | undefined;

  #person(id: string): PersonRow {
    this.#byId ??= new Map(this.personRows.map((p) => [p.person_id, p]));
    const known = this.#byId.get(id);
    if (known) return known;
    for (const c of this.changes) if (c.kind === 'register' && c.person.person_id === id) return c.person;
    throw new Error(`no person ${id}`);
  }

  /** Where each person registered at `at` lives then (the population as a batch copy would list it). */
  population(at: number): Array<PersonRow & { home: string }> {
    const applied = this.changes.filter((c) => c.at <= at).sort((a, b) => a.at - b.at);
    const home = new Map<string, string>();
    for (const c of applied) if (c.kind === 'move') home.set(c.person_id, c.to_building);
    const removed = new Set(applied.flatMap((c) => (c.kind === 'remove' ? [c.person_id] : [])));
    const registered = applied.flatMap((c) => (c.kind === 'register' ? [c.person] : []));
    return [...this.personRows, ...registered]
      .filter((p) => !removed.has(p.person_id))
      .map((p) => ({ ...p, home: home.get(p.person_id) ?? p.building_id }));
  }

  #peopleIn(): Map<string, PersonRow[]> {
    if (this.#byBuilding === undefined) {
      this.#byBuilding = new Map();
      for (const p of this.personRows) {
        const list = this.#byBuilding.get(p.building_id);
        if (list) list.push(p);
        else this.#byBuilding.set(p.building_id, [p]);
      }
    }
    return this.#byBuilding;
  }

  async buildings(rows: BuildingRow[]) {
    this.buildingRows.push(...rows);
  }
  async dwellings(rows: DwellingRow[]) {
    this.dwellingRows.push(...rows);
  }
  async legalPersons(rows: LegalPersonRow[]) {
    this.legalRows.push(...rows);
  }
  async people(rows: PersonRow[]) {
    this.personRows.push(...rows);
  }

  /** What lies within `radiusM` of (lat, lon) at time `at`, counted from scratch. */
  impact(lat: number, lon: number, at: number, radiusM: number) {
    const applied = this.changes.filter((c) => c.at <= at).sort((a, b) => a.at - b.at);
    const demolished = new Set(applied.flatMap((c) => (c.kind === 'demolish' ? [c.building_id] : [])));
    const near = new Set(
      this.buildingRows
        .filter((b) => !demolished.has(b.building_id) && distanceM(lat, lon, b.lat, b.lon) <= radiusM)
        .map((b) => b.building_id),
    );
    const moved = new Map(
      applied.flatMap((c) => (c.kind === 'move' ? [[c.person_id, c.to_building] as const] : [])),
    );
    const residents = { under_14: 0, from_14_to_64: 0, from_65: 0 };
    // People grouped by their generated building (each of the buildings near, then each mover): a scan of
    // every person for each of some 600 incidents took 20 s.
    const candidates = [...near].flatMap((id) => this.#peopleIn().get(id) ?? []);
    for (const c of applied) if (c.kind === 'move') candidates.push(this.#person(c.person_id));
    for (const c of applied) if (c.kind === 'register') candidates.push(c.person);
    const removed = new Set(applied.flatMap((c) => (c.kind === 'remove' ? [c.person_id] : [])));
    for (const p of new Set(candidates)) {
      if (removed.has(p.person_id) || !near.has(moved.get(p.person_id) ?? p.building_id)) continue;
      residents[bandAt(ymd(p.birth_date), at)] += 1;
    }
    const legal = [
      ...this.legalRows,
      ...applied.flatMap((c) => (c.kind === 'open' ? [{ ...c, employees: 1 } as LegalPersonRow] : [])),
    ].filter((l) => near.has(l.building_id));
    const byIndustry: Record<string, number> = {};
    for (const l of legal) byIndustry[l.industry] = (byIndustry[l.industry] ?? 0) + 1;
    return {
      buildings: near.size,
      dwellings: this.dwellingRows.filter((d) => near.has(d.building_id)).length,
      residents,
      legal_persons: legal.length,
      by_industry: byIndustry,
    };
  }
}

/**
 * The same recount at the seed's scale (bench:base), kept compact: per building its dwellings, its legal
 * persons' industries and its residents' birth dates as YYYYMMDD numbers, since 18.44 M people as rows do
 * not fit one process. Changes: moves of people it was given, in time order, and legal persons moved,
 * closed or opened.
 */
export class BaseTally implements BaseSink {
  readonly #buildings: Array<{ id: string; lat: number; lon: number }> = [];
  readonly #dwellings = new Map<string, number>();
  readonly #industries = new Map<string, string[]>();
  readonly #births = new Map<string, number[]>();
  readonly #moves: Array<{ birth: number; from: string; to: string; at: number }> = [];
  readonly #home = new Map<string, string>();
  /** Legal persons moved, closed (`to` undefined) or opened (`from` undefined). */
  readonly #sites: Array<{ industry: string; from?: string; to?: string; at: number }> = [];

  async buildings(rows: BuildingRow[]) {
    for (const b of rows) this.#buildings.push({ id: b.building_id, lat: b.lat, lon: b.lon });
  }
  async dwellings(rows: DwellingRow[]) {
    for (const d of rows) this.#dwellings.set(d.building_id, (this.#dwellings.get(d.building_id) ?? 0) + 1);
  }
  async legalPersons(rows: LegalPersonRow[]) {
    for (const l of rows) append(this.#industries, l.building_id, l.industry);
  }
  async people(rows: PersonRow[]) {
    for (const p of rows) append(this.#births, p.building_id, ymd(p.birth_date));
  }

  /** `person` moves to building `to` from `at` on (given in time order). */
  move(person: PersonRow, to: string, at: number): void {
    const from = this.#home.get(person.person_id) ?? person.building_id;
    this.#moves.push({ birth: ymd(person.birth_date), from, to, at });
    this.#home.set(person.person_id, to);
  }

  /** A legal person of `industry` leaves building `from` (if any) for `to` (if any) at `at`. */
  moveSite(industry: string, from: string | undefined, to: string | undefined, at: number): void {
    this.#sites.push({ industry, ...(from ? { from } : {}), ...(to ? { to } : {}), at });
  }

  /** What lies within `radiusM` of (lat, lon) at time `at`, counted from scratch. */
  impact(lat: number, lon: number, at: number, radiusM: number) {
    const near = new Set(
      this.#buildings.filter((b) => distanceM(lat, lon, b.lat, b.lon) <= radiusM).map((b) => b.id),
    );
    const residents = { under_14: 0, from_14_to_64: 0, from_65: 0 };
    for (const id of near) for (const birth of this.#births.get(id) ?? []) residents[bandAt(birth, at)] += 1;
    for (const m of this.#moves) {
      if (m.at > at) continue;
      if (near.has(m.from)) residents[bandAt(m.birth, at)] -= 1;
      if (near.has(m.to)) residents[bandAt(m.birth, at)] += 1;
    }
    const by_industry: Record<string, number> = {};
    let legal_persons = 0;
    let dwellings = 0;
    for (const id of near) {
      dwellings += this.#dwellings.get(id) ?? 0;
      for (const industry of this.#industries.get(id) ?? []) {
        by_industry[industry] = (by_industry[industry] ?? 0) + 1;
        legal_persons += 1;
      }
    }
    for (const m of this.#sites) {
      if (m.at > at) continue;
      const delta =
        (m.to !== undefined && near.has(m.to) ? 1 : 0) - (m.from !== undefined && near.has(m.from) ? 1 : 0);
      by_industry[m.industry] = (by_industry[m.industry] ?? 0) + delta;
      legal_persons += delta;
    }
    for (const [industry, n] of Object.entries(by_industry)) if (n === 0) delete by_industry[industry];
    return { buildings: near.size, dwellings, residents, legal_persons, by_industry };
  }
}

function append<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** YYYY-MM-DD as the number YYYYMMDD. */
export function ymd(date: string): number {
  return Number(date.slice(0, 4)) * 10_000 + Number(date.slice(5, 7)) * 100 + Number(date.slice(8, 10));
}

/** The age band of someone born on `birth` (YYYYMMDD) at `at`, by completed years on Shenzhen's calendar. */
export function bandAt(birth: number, at: number): 'under_14' | 'from_14_to_64' | 'from_65' {
  const day = ymd(new Date(at + 8 * 3_600_000).toISOString().slice(0, 10));
  const years =
    Math.floor(day / 10_000) - Math.floor(birth / 10_000) - (day % 10_000 < birth % 10_000 ? 1 : 0);
  return years < 14 ? 'under_14' : years < 65 ? 'from_14_to_64' : 'from_65';
}

/** An incident at each of these buildings, opened at `at`. */
export function incidentsAt(
  places: ReadonlyArray<Pick<BuildingRow, 'district' | 'lat' | 'lon'>>,
  at: number,
): IncidentOpening[] {
  return places.map((b, i) => ({
    incident_id: `i${i}`,
    id: `r${i}`,
    ts_ms: at,
    district: b.district,
    category: 'fire',
    severity: 2,
    lat: b.lat,
    lon: b.lon,
    cell: latLngToCell(b.lat, b.lon, CELL_RESOLUTION),
  }));
}

/**
 * Great-circle distance on H3's mean earth radius (the join's definition), written again here rather than
 * imported: the recount shares no code with the join.
 */
function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6_371_007.180918475 * Math.asin(Math.sqrt(a));
}
