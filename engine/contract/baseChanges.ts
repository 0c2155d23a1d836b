import { z } from 'zod';
import { BUILDING_USES, INDUSTRIES } from './baseLibraries.ts';
import { EventTime, NO_INVISIBLE_CHARACTERS } from './exchangeRecords.ts';
import { BASE_TOPICS } from './topics.ts';

/**
 * The change feeds of the base libraries (docs/base.md): one JSON object per Kafka message, an upsert or a
 * delete of one record, valid from `valid_from` (event time). `source` says who sent it: the exchange's
 * feed (the default), grid staff in the field (`grid`, who must name themselves in `staff_id`), or a
 * reconciled batch copy (`batch`, naming the copy in `batch_id`: `city-ops base reconcile` sends these).
 */
const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');
const common = {
  id: Id,
  valid_from: EventTime,
  source: z.enum(['feed', 'grid', 'batch']).default('feed'),
  staff_id: Id.optional(),
  batch_id: z.string().min(1).max(200).regex(NO_INVISIBLE_CHARACTERS).optional(),
};
const namesItsSource = (c: object) => {
  const { source, staff_id, batch_id } = c as { source?: unknown; staff_id?: unknown; batch_id?: unknown };
  return (source !== 'grid' || staff_id !== undefined) && (source !== 'batch' || batch_id !== undefined);
};
const STAFF_REQUIRED = {
  message: 'a grid correction names its staff member in staff_id, a batch copy itself in batch_id',
  path: ['source'],
};

const change = <S extends z.ZodRawShape>(upsert: S) =>
  z
    .discriminatedUnion('op', [
      z.strictObject({ op: z.literal('delete'), ...common }),
      z.strictObject({ op: z.literal('upsert'), ...common, ...upsert }),
    ])
    .refine(namesItsSource, STAFF_REQUIRED);

export const BuildingChange = change({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  use: z.enum(BUILDING_USES),
  floors: z.number().int().min(1).max(200),
});
export const DwellingChange = change({
  building_id: Id,
  floor_area_m2: z.number().int().min(1).max(10_000),
  rooms: z.number().int().min(0).max(50),
});
export const LegalPersonChange = change({
  building_id: Id,
  industry: z.enum(INDUSTRIES),
  employees: z.number().int().min(0).max(1_000_000),
});
export const PersonChange = change({
  building_id: Id,
  dwelling_id: Id,
  name: z.string().min(1).max(64).regex(NO_INVISIBLE_CHARACTERS),
  id_number: z.string().regex(/^\d{17}[\dX]$/, '18 characters: 17 digits and a digit or X'),
  phone: z
    .string()
    .regex(/^1\d{10}$/, 'an 11-digit mobile number')
    .optional(),
  birth_date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
    .refine((d) => {
      const t = Date.parse(`${d}T00:00:00Z`);
      return Number.isFinite(t) && new Date(t).toISOString().startsWith(d);
    }, 'a date of the calendar')
    .refine((d) => d >= '1880-01-01', 'on or after 1880-01-01'),
});

/** The four feeds: topic (without the deployment's prefix) and the schema of its messages. */
export const BASE_FEEDS = {
  buildings: { topic: BASE_TOPICS.buildings, schema: BuildingChange },
  dwellings: { topic: BASE_TOPICS.dwellings, schema: DwellingChange },
  legal_persons: { topic: BASE_TOPICS.legal_persons, schema: LegalPersonChange },
  population: { topic: BASE_TOPICS.population, schema: PersonChange },
} as const;
export type BaseFeed = keyof typeof BASE_FEEDS;
export const BASE_FEED_NAMES = Object.keys(BASE_FEEDS) as BaseFeed[];

export type BuildingChange = z.infer<typeof BuildingChange>;
export type DwellingChange = z.infer<typeof DwellingChange>;
export type LegalPersonChange = z.infer<typeof LegalPersonChange>;
export type PersonChange = z.infer<typeof PersonChange>;
export type AnyBaseChange = BuildingChange | DwellingChange | LegalPersonChange | PersonChange;
