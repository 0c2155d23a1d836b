import { CITY_OFFSET_MS } from '../access/cityCalendar.ts';

/**
 * The vocabulary of the base libraries (docs/base.md): people, legal persons, buildings and dwellings, the
 * reference data the streams are read against. One place for the industries, building uses, age bands and
 * the sources a version can come from.
 */

/** Industries of legal persons. The first four are the sites an operations centre asks about first. */
export const INDUSTRIES = [
  'school',
  'hospital',
  'chemical',
  'hazardous_storage',
  'manufacturing',
  'logistics',
  'retail',
  'catering',
  'office',
  'other',
] as const;
export type Industry = (typeof INDUSTRIES)[number];

/** What a building is mostly used for. */
export const BUILDING_USES = ['residential', 'mixed', 'commercial', 'industrial', 'public'] as const;
export type BuildingUse = (typeof BUILDING_USES)[number];

/** Age bands of registered residents, by completed years at the time asked: [0, 14), [14, 65), [65, ...). */
export const AGE_BANDS = ['under_14', 'from_14_to_64', 'from_65'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/**
 * Where a version of a record came from: the generator's initial load, the exchange's change feeds, a batch
 * copy reconciled, or grid staff in the field.
 */
export const BASE_SOURCES = ['generator', 'feed', 'batch', 'grid'] as const;
export type BaseSource = (typeof BASE_SOURCES)[number];

/**
 * Outside the restricted database a count of people from 1 to 4 is shown as "<5" (small-group privacy), and
 * stored as NULL in the analysts' tables so that sums stay honest about what is hidden.
 */
export const SMALL_GROUP_LIMIT = 5;

/** `count`, or null when it is a small group that must not leave the restricted database. */
export function suppressSmall(count: number): number | null {
  return count > 0 && count < SMALL_GROUP_LIMIT ? null : count;
}

/** The age band, at `atMs`, of a person born on the UTC day `birthDay` (days since 1970-01-01). */
export function ageBand(birthDay: number, atMs: number): AgeBand {
  return ageBandAt(atMs)(birthDay);
}

/**
 * The age bands at `atMs` as two birth days: a person has completed N years on the city's calendar day
 * (Y, M, D) when born on or before (Y - N, M, D), or before the 1st of March when that is a 29th of
 * February that year lacks. So a join bands 55 k residents by two comparisons each.
 */
export function ageBandAt(atMs: number): (birthDay: number) => AgeBand {
  const at = new Date(atMs + CITY_OFFSET_MS); // the city's calendar day
  const bornBy = (years: number) => {
    const day = new Date(0);
    day.setUTCFullYear(at.getUTCFullYear() - years, at.getUTCMonth() + 1, 0); // the month's last day
    day.setUTCDate(Math.min(at.getUTCDate(), day.getUTCDate()));
    return day.getTime() / 86_400_000;
  };
  const from14 = bornBy(14);
  const from65 = bornBy(65);
  return (birthDay) => (birthDay > from14 ? 'under_14' : birthDay > from65 ? 'from_14_to_64' : 'from_65');
}
