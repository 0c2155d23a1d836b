import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import {
  AGE_BANDS,
  type AgeBand,
  ageBandAt,
  type Industry,
  suppressSmall,
} from '../contract/baseLibraries.ts';

/** Sites an operations centre is told about by name (id, building, distance), not only counted. */
export const SENSITIVE_INDUSTRIES: ReadonlySet<Industry> = new Set([
  'school',
  'hospital',
  'chemical',
  'hazardous_storage',
]);

interface VersionFields {
  readonly valid_from_ms: number;
  readonly deleted: number;
}
export interface BuildingVersion extends VersionFields {
  readonly building_id: string;
  readonly lat: number;
  readonly lon: number;
}
/**
 * The members of a building as they stood at a time (each member's latest version then, tombstones left
 * out): what the join counts. The engine's `BaseLookup` answers from memory.
 */
export interface MembersAsOf {
  dwellings(buildingId: string, atMs: number): number;
  residents(buildingId: string, atMs: number, visit: (birthDay: number) => void): void;
  /** The id is there for the sensitive industries; the others are counted, not named. */
  legalPersons(
    buildingId: string,
    atMs: number,
    visit: (industry: Industry, legalPersonId: string | undefined) => void,
  ): void;
}

export interface BaseImpact {
  readonly buildings: number;
  readonly dwellings: number;
  readonly residents: Record<AgeBand, number>;
  readonly legal_persons: number;
  readonly by_industry: Partial<Record<Industry, number>>;
  readonly sensitive_sites: Array<{
    legal_person_id: string;
    industry: string;
    building_id: string;
    distance_m: number;
  }>;
  /** [building_id, lat, lon], nearest first. */
  readonly affected_buildings: Array<[string, number, number]>;
}

/**
 * Who and what lies within `radiusM` metres of an incident, as the base libraries stood at `asOfMs` (the
 * incident's first open report): every key counts by its latest version at or before that time, and not at
 * all if that version is a tombstone. A member counts when its building does. Ages are counted at `asOfMs`.
 * The tests' recount (tests/helpers/baseRecount.ts) shares no code with this.
 */
export function computeBaseImpact(
  incident: { readonly lat: number; readonly lon: number },
  asOfMs: number,
  radiusM: number,
  buildings: Iterable<BuildingVersion>,
  members: MembersAsOf,
): BaseImpact {
  const distances = new Map<string, number>();
  const affected: Array<[string, number, number]> = [];
  for (const b of asOf(buildings, asOfMs, (v) => v.building_id)) {
    const distance = haversineMeters(incident.lat, incident.lon, b.lat, b.lon);
    if (distance > radiusM) continue;
    distances.set(b.building_id, distance);
    affected.push([b.building_id, b.lat, b.lon]);
  }
  affected.sort((a, b) => distances.get(a[0])! - distances.get(b[0])! || (a[0] < b[0] ? -1 : 1));
  const band = ageBandAt(asOfMs);
  const residents = Object.fromEntries(AGE_BANDS.map((b) => [b, 0])) as Record<AgeBand, number>;
  const by_industry: Partial<Record<Industry, number>> = {};
  const sensitive_sites: BaseImpact['sensitive_sites'] = [];
  let dwellings = 0;
  let legal_persons = 0;
  for (const [building_id, distance] of distances) {
    dwellings += members.dwellings(building_id, asOfMs);
    members.residents(building_id, asOfMs, (birthDay) => {
      residents[band(birthDay)] += 1;
    });
    members.legalPersons(building_id, asOfMs, (industry, legal_person_id) => {
      legal_persons += 1;
      by_industry[industry] = (by_industry[industry] ?? 0) + 1;
      if (SENSITIVE_INDUSTRIES.has(industry) && legal_person_id !== undefined)
        sensitive_sites.push({
          legal_person_id,
          industry,
          building_id,
          distance_m: Math.round(distance * 10) / 10,
        });
    });
  }
  sensitive_sites.sort(
    (a, b) => a.distance_m - b.distance_m || (a.legal_person_id < b.legal_person_id ? -1 : 1),
  );
  return {
    buildings: distances.size,
    dwellings,
    residents,
    legal_persons,
    by_industry,
    sensitive_sites,
    affected_buildings: affected,
  };
}

/** Each key's latest version at or before `atMs`, tombstones left out. */
function asOf<T extends VersionFields>(versions: Iterable<T>, atMs: number, key: (v: T) => string): T[] {
  const latest = new Map<string, T>();
  for (const v of versions) {
    if (v.valid_from_ms > atMs) continue;
    const k = key(v);
    const seen = latest.get(k);
    // Two versions of one key at one time: the tombstone wins, so a same-instant delete is never undone.
    if (
      !seen ||
      v.valid_from_ms > seen.valid_from_ms ||
      (v.valid_from_ms === seen.valid_from_ms && v.deleted > seen.deleted)
    )
      latest.set(k, v);
  }
  return [...latest.values()].filter((v) => v.deleted === 0);
}

/** The residents' counts as they may leave the restricted database: 1 to 4 become null ("<5"). */
export function publicResidents(residents: Record<AgeBand, number>): Record<AgeBand, number | null> {
  return Object.fromEntries(AGE_BANDS.map((band) => [band, suppressSmall(residents[band])])) as Record<
    AgeBand,
    number | null
  >;
}

/** An impact as it may leave the restricted database (the map, the analysts): residents of 1-4 as null. */
export function publicBaseImpact(impact: BaseImpact): Omit<BaseImpact, 'residents'> & {
  residents: Record<AgeBand, number | null>;
} {
  return { ...impact, residents: publicResidents(impact.residents) };
}
