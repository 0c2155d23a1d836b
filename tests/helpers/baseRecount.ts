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
    const day = new Date(at + 8 * 3_600_000).toISOString().slice(0, 10);
    // People grouped by their generated building (each of the buildings near, then each mover): a scan of
    // every person for each of some 600 incidents took 20 s.
    const candidates = [...near].flatMap((id) => this.#peopleIn().get(id) ?? []);
    for (const c of applied) if (c.kind === 'move') candidates.push(this.#person(c.person_id));
    for (const c of applied) if (c.kind === 'register') candidates.push(c.person);
    const removed = new Set(applied.flatMap((c) => (c.kind === 'remove' ? [c.person_id] : [])));
    for (const p of new Set(candidates)) {
      if (removed.has(p.person_id) || !near.has(moved.get(p.person_id) ?? p.building_id)) continue;
      const years =
        Number(day.slice(0, 4)) -
        Number(p.birth_date.slice(0, 4)) -
        (day.slice(5) < p.birth_date.slice(5) ? 1 : 0);
      residents[years < 14 ? 'under_14' : years < 65 ? 'from_14_to_64' : 'from_65'] += 1;
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
