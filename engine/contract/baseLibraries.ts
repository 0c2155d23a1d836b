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
  const birth = new Date(birthDay * 86_400_000);
  const at = new Date(atMs + CITY_OFFSET_MS); // the city's calendar day
  let years = at.getUTCFullYear() - birth.getUTCFullYear();
  const beforeBirthday =
    at.getUTCMonth() < birth.getUTCMonth() ||
    (at.getUTCMonth() === birth.getUTCMonth() && at.getUTCDate() < birth.getUTCDate());
  if (beforeBirthday) years -= 1;
  return years < 14 ? 'under_14' : years < 65 ? 'from_14_to_64' : 'from_65';
}
