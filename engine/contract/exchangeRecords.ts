import { getResolution, isValidCell } from 'h3-js';
import { z } from 'zod';
import { CELL_RESOLUTION } from '../geo/cells.ts';

/**
 * The exchange contract: what departments publish to `city.transport`, `city.events` and
 * `city.population` (JSON objects, UTF-8, one record per Kafka message). docs/contract.md is the page for
 * publishers; this file is the law, and every record is validated against it by the engine's workers.
 *
 * Message keys: transport is keyed by `vehicle`, events by `incident_id` (or `id` when absent), population
 * by the area (`h3` cell, or `id`). A resent record must carry the same key so it lands in the same
 * partition, where the engine recognises its `id` and counts it once.
 */

/** Largest accepted record, in bytes of the Kafka message value. Larger ones are dead-lettered. */
export const MAX_RECORD_BYTES = 64 * 1024;

/** Event times before this are impossible for this exchange (epoch ms of 2000-01-01T00:00:00Z). */
export const MIN_EVENT_TIME = Date.UTC(2000, 0, 1);
/** Event times after this are impossible (2100-01-01T00:00:00Z). */
export const MAX_EVENT_TIME = Date.UTC(2100, 0, 1);

/** The ISO-8601 event times the contract accepts (a zone is required). */
export const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Event time: epoch milliseconds (integer) or an ISO-8601 string with a zone (`Z` or `+08:00`). */
export const EventTime = z.union([
  z.number().int().describe('epoch milliseconds'),
  z
    .string()
    .regex(
      ISO_8601,
      'must be epoch milliseconds or ISO-8601 with a time zone, e.g. 2026-11-27T08:00:00+08:00',
    ),
]);

/**
 * Ids and names carry no invisible characters: controls (Cc), format characters (Cf: bidi overrides,
 * zero-width spaces and joiners, the BOM), line and paragraph separators. Each can make two ids look alike
 * or reorder what a reader of a log, a table or the map sees.
 */
export const NO_INVISIBLE_CHARACTERS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
/** An H3 cell index as the contract writes it. */
export const H3_CELL = /^[0-9a-f]{15}$/;

/** A valid H3 cell at the engine's resolution (`CELL_RESOLUTION`), not only 15 hex digits. */
export function isContractCell(cell: string): boolean {
  return H3_CELL.test(cell) && isValidCell(cell) && getResolution(cell) === CELL_RESOLUTION;
}

const INVISIBLE = 'must not contain control, format (bidi, zero-width) or separator characters';
const Id = z.string().min(1).max(128).regex(NO_INVISIBLE_CHARACTERS, INVISIBLE);
const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);
const Name = z.string().min(1).max(128).regex(NO_INVISIBLE_CHARACTERS, INVISIBLE);

export const TRANSPORT_MODES = ['bus', 'metro', 'taxi', 'tram', 'ferry', 'bike', 'other'] as const;

/** `city.transport`: one observation of a vehicle. */
export const TransportRecordSchema = z.object({
  id: Id.describe('unique event id'),
  ts: EventTime,
  vehicle: Name.describe('vehicle id; also the message key'),
  mode: z.enum(TRANSPORT_MODES),
  route: Name.optional(),
  lat: Latitude.describe('WGS84 latitude'),
  lon: Longitude.describe('WGS84 longitude'),
  speed_kmh: z.number().min(0).max(400).optional(),
  occupancy: z.number().int().min(0).max(10_000).optional().describe('passengers on board'),
});

export const EVENT_CATEGORIES = [
  'traffic_accident',
  'congestion',
  'road_damage',
  'fire',
  'flooding',
  'public_order',
  'medical',
  'environment',
  'illegal_parking',
  'facility_failure',
  'other',
] as const;

/** Personal data of whoever reported an incident. Stored only in the restricted raw table. */
export const ReporterSchema = z.object({
  name: z.string().max(128).optional(),
  phone: z.string().max(32).optional(),
  id_number: z.string().max(32).optional(),
});

/** `city.events`: an incident report from grid staff or a sensor. */
export const CityEventRecordSchema = z.object({
  id: Id.describe('unique event id'),
  incident_id: Id.optional().describe('the incident this report is about; defaults to id'),
  ts: EventTime,
  category: z.enum(EVENT_CATEGORIES),
  severity: z.number().int().min(1).max(5),
  lat: Latitude,
  lon: Longitude,
  status: z.enum(['open', 'closed']),
  source: z.enum(['grid_staff', 'sensor', 'citizen', 'department']).optional(),
  description: z.string().max(2_000).optional(),
  reporter: ReporterSchema.optional(),
});

/** `city.population`: people counted in an area, by position or by H3 cell. */
export const PopulationRecordSchema = z
  .object({
    id: Id.describe('unique event id'),
    ts: EventTime,
    lat: Latitude.optional(),
    lon: Longitude.optional(),
    h3: z
      .string()
      .regex(H3_CELL, 'must be an H3 cell index (15 hex digits)')
      .refine(isContractCell, `must be a valid H3 cell of resolution ${CELL_RESOLUTION}`)
      .optional(),
    present: z.number().int().min(0).max(10_000_000),
    inflow: z.number().int().min(0).max(10_000_000),
    outflow: z.number().int().min(0).max(10_000_000),
  })
  .refine((r) => r.h3 !== undefined || (r.lat !== undefined && r.lon !== undefined), {
    message: 'needs lat and lon, or an h3 cell',
    path: ['lat'],
  });

export type TransportRecord = z.infer<typeof TransportRecordSchema>;
export type CityEventRecord = z.infer<typeof CityEventRecordSchema>;
export type PopulationRecord = z.infer<typeof PopulationRecordSchema>;

export const RECORD_SCHEMAS = {
  transport: TransportRecordSchema,
  events: CityEventRecordSchema,
  population: PopulationRecordSchema,
} as const;
