import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import {
  AGE_BANDS,
  type AgeBand,
  ageBand,
  INDUSTRIES,
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
/** A member of a building (dwelling, resident, legal person) at one version. */
export interface MemberVersion extends VersionFields {
  readonly building_id: string;
  readonly member_id: string;
}
export interface ResidentVersion extends MemberVersion {
  readonly birth_day: number;
}
export interface LegalPersonVersion extends MemberVersion {
  readonly industry: string;
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
 * Pure: the engine and the tests' recount share this definition, not the code that reads the rows.
 */
export function computeBaseImpact(
  incident: { readonly lat: number; readonly lon: number },
  asOfMs: number,
  radiusM: number,
  rows: {
    readonly buildings: Iterable<BuildingVersion>;
    readonly dwellings: Iterable<MemberVersion>;
    readonly residents: Iterable<ResidentVersion>;
    readonly legalPersons: Iterable<LegalPersonVersion>;
  },
): BaseImpact {
  const distances = new Map<string, number>();
  const affected: Array<[string, number, number]> = [];
  for (const b of asOf(rows.buildings, asOfMs, (v) => v.building_id)) {
    const distance = haversineMeters(incident.lat, incident.lon, b.lat, b.lon);
    if (distance > radiusM) continue;
    distances.set(b.building_id, distance);
    affected.push([b.building_id, b.lat, b.lon]);
  }
  affected.sort((a, b) => distances.get(a[0])! - distances.get(b[0])! || (a[0] < b[0] ? -1 : 1));
  const within = <T extends MemberVersion>(versions: Iterable<T>) =>
    asOf(versions, asOfMs, (v) => `${v.building_id}\u0000${v.member_id}`).filter((v) =>
      distances.has(v.building_id),
    );
  const residents = Object.fromEntries(AGE_BANDS.map((band) => [band, 0])) as Record<AgeBand, number>;
  for (const r of within(rows.residents)) residents[ageBand(r.birth_day, asOfMs)] += 1;
  const by_industry: Partial<Record<Industry, number>> = {};
  const sensitive_sites: BaseImpact['sensitive_sites'] = [];
  const legal = within(rows.legalPersons);
  for (const l of legal) {
    const industry = (INDUSTRIES as readonly string[]).includes(l.industry)
      ? (l.industry as Industry)
      : 'other';
    by_industry[industry] = (by_industry[industry] ?? 0) + 1;
    if (SENSITIVE_INDUSTRIES.has(industry))
      sensitive_sites.push({
        legal_person_id: l.member_id,
        industry,
        building_id: l.building_id,
        distance_m: Math.round(distances.get(l.building_id)! * 10) / 10,
      });
  }
  sensitive_sites.sort(
    (a, b) => a.distance_m - b.distance_m || (a.legal_person_id < b.legal_person_id ? -1 : 1),
  );
  return {
    buildings: distances.size,
    dwellings: within(rows.dwellings).length,
    residents,
    legal_persons: legal.length,
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
