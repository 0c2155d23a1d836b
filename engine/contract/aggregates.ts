import { z } from 'zod';
import { AGE_BANDS } from './baseLibraries.ts';

/**
 * Messages the engine publishes to the `city.aggregates` topic for the serving tier (the map server) and
 * the alert rules. JSON, one message per Kafka record; the Kafka key is `aggregateKey(message)`.
 *
 * Engine instances each own some partitions of the input topics, so window results arrive as
 * **per-partition partials**: a consumer keeps the highest `revision` per
 * (stream, district, window_start, partition) and sums over partitions (see `DistrictWindowTable`).
 * Nothing here carries personal data: reporters are masked before publication.
 */

const Stream = z.enum(['transport', 'events', 'population']);
/** District code (e.g. '440304') or 'outside' for positions outside the city's boundaries. */
const District = z.string().min(1);

/** A per-minute window of one stream in one district, computed from one source partition. */
export const DistrictWindowMessage = z.object({
  kind: z.literal('district_window'),
  stream: Stream,
  district: District,
  /** Window start and end, epoch ms, half-open [start, end). */
  window_start: z.number().int(),
  window_end: z.number().int(),
  partition: z.number().int().min(0),
  /** 1 for the first emission of this window from this partition, +1 for each later update. */
  revision: z.number().int().min(1),
  /** True once the window is closed (watermark passed end + grace): no later revision will follow. */
  final: z.boolean(),
  /** Accepted events (distinct ids). */
  events: z.number().int().min(0),
  /** transport: distinct vehicles; events: distinct incidents; population: distinct areas. */
  distinct_keys: z.number().int().min(0),
  /** transport: sum and count of reported speeds (mean = sum / count). */
  speed_sum: z.number().min(0),
  speed_count: z.number().int().min(0),
  /** events: reports with status open / closed. */
  opened: z.number().int().min(0),
  closed: z.number().int().min(0),
  /** events: reports with severity >= 4. */
  severe: z.number().int().min(0),
  /** population: people present (latest count of each area in the window, summed) and flows. */
  present: z.number().int().min(0),
  inflow: z.number().int().min(0),
  outflow: z.number().int().min(0),
});

/** Latest positions of the vehicles seen in one tick on one partition (columnar: one entry per vehicle). */
export const VehiclePositionsMessage = z.object({
  kind: z.literal('vehicle_positions'),
  partition: z.number().int().min(0),
  /** Event time of the newest observation included, epoch ms. */
  ts: z.number().int(),
  vehicles: z.array(
    z.object({
      vehicle: z.string(),
      mode: z.string(),
      lat: z.number(),
      lon: z.number(),
      ts: z.number().int(),
      speed_kmh: z.number().nullable(),
      district: District,
    }),
  ),
});

/** Latest people counts of the H3 cells reported in one tick on one partition. */
export const PopulationCellsMessage = z.object({
  kind: z.literal('population_cells'),
  partition: z.number().int().min(0),
  ts: z.number().int(),
  cells: z.array(
    z.object({
      cell: z.string(),
      present: z.number().int(),
      inflow: z.number().int(),
      outflow: z.number().int(),
      ts: z.number().int(),
      district: District,
    }),
  ),
});

/** One accepted incident report, masked. */
export const IncidentMessage = z.object({
  kind: z.literal('incident'),
  id: z.string(),
  incident_id: z.string(),
  ts: z.number().int(),
  category: z.string(),
  severity: z.number().int().min(1).max(5),
  status: z.enum(['open', 'closed']),
  lat: z.number(),
  lon: z.number(),
  district: District,
  cell: z.string(),
  source: z.string().nullable(),
  /** Free text with phone and ID numbers masked. */
  description: z.string().nullable(),
  /** Masked reporter, e.g. { name: '张*', phone: '138****8000' }; null when none was given. */
  reporter: z
    .object({ name: z.string().nullable(), phone: z.string().nullable(), id_number: z.string().nullable() })
    .nullable(),
});

/** What an incident touches: the engine's `incident_impact` join, published once final. */
export const IncidentImpactMessage = z.object({
  kind: z.literal('incident_impact'),
  incident_id: z.string(),
  ts: z.number().int(),
  district: District,
  category: z.string(),
  severity: z.number().int(),
  lat: z.number(),
  lon: z.number(),
  radius_m: z.number(),
  band_ms: z.number().int(),
  vehicles: z.number().int().min(0),
  /** Up to 50 nearest vehicles. */
  nearest_vehicles: z.array(z.object({ vehicle: z.string(), mode: z.string(), distance_m: z.number() })),
  people_present: z.number().int().min(0),
  /**
   * Who and what the base libraries place within the radius as they stood at the incident's time
   * (docs/base.md); residents of 1 to 4 as null ("<5"). Absent from engines older than the libraries.
   */
  base: z
    .object({
      buildings: z.number().int().min(0),
      dwellings: z.number().int().min(0),
      residents: z.record(z.enum(AGE_BANDS), z.number().int().min(0).nullable()),
      legal_persons: z.number().int().min(0),
      by_industry: z.record(z.string(), z.number().int().min(0)),
      sensitive_sites: z.array(
        z.object({
          legal_person_id: z.string(),
          industry: z.string(),
          building_id: z.string(),
          distance_m: z.number(),
        }),
      ),
      /** [building_id, lat, lon], nearest first. */
      affected_buildings: z.array(z.tuple([z.string(), z.number(), z.number()])),
    })
    .optional(),
});

/** Per district and minute, the three streams side by side (`city.district_pulse`), once final. */
export const DistrictPulseMessage = z.object({
  kind: z.literal('district_pulse'),
  district: District,
  window_start: z.number().int(),
  vehicles_seen: z.number().int().min(0),
  mean_speed_kmh: z.number().nullable(),
  incidents_opened: z.number().int().min(0),
  incidents_open: z.number().int().min(0),
  people_present: z.number().int().min(0),
  net_inflow: z.number().int(),
});

/** Progress of one input partition, for data freshness on the map. */
export const WatermarkMessage = z.object({
  kind: z.literal('watermark'),
  stream: Stream,
  partition: z.number().int().min(0),
  /** Event-time watermark of the partition, epoch ms. */
  watermark: z.number().int(),
  /** Wall-clock time of publication, epoch ms. */
  at: z.number().int(),
});

export const AggregateMessage = z.discriminatedUnion('kind', [
  DistrictWindowMessage,
  VehiclePositionsMessage,
  PopulationCellsMessage,
  IncidentMessage,
  IncidentImpactMessage,
  DistrictPulseMessage,
  WatermarkMessage,
]);

export type AggregateMessage = z.infer<typeof AggregateMessage>;
export type DistrictWindowMessage = z.infer<typeof DistrictWindowMessage>;
export type VehiclePositionsMessage = z.infer<typeof VehiclePositionsMessage>;
export type PopulationCellsMessage = z.infer<typeof PopulationCellsMessage>;
export type IncidentMessage = z.infer<typeof IncidentMessage>;
export type IncidentImpactMessage = z.infer<typeof IncidentImpactMessage>;
export type DistrictPulseMessage = z.infer<typeof DistrictPulseMessage>;
export type WatermarkMessage = z.infer<typeof WatermarkMessage>;

/** The measures of a district window, each zero in an empty one. */
export const EMPTY_WINDOW_MEASURES = Object.freeze({
  events: 0,
  distinct_keys: 0,
  speed_sum: 0,
  speed_count: 0,
  opened: 0,
  closed: 0,
  severe: 0,
  present: 0,
  inflow: 0,
  outflow: 0,
});

/** The measures of a district window (see DistrictWindowMessage), numbers all. */
export type DistrictWindowMeasures = { readonly [K in keyof typeof EMPTY_WINDOW_MEASURES]: number };

/** The measures' names, in the order `city.window_partials` stores them. */
export const WINDOW_MEASURES = Object.keys(
  EMPTY_WINDOW_MEASURES,
) as readonly (keyof DistrictWindowMeasures)[];

/**
 * A `district_window` message for simulators, benchmarks and tests: the stream, district and start given,
 * a one-minute window, partition 0, revision 1, not final, and every measure zero unless given.
 */
export function districtWindowMessage(
  fields: Pick<DistrictWindowMessage, 'stream' | 'district' | 'window_start'> &
    Partial<Omit<DistrictWindowMessage, 'kind'>>,
): DistrictWindowMessage {
  return {
    kind: 'district_window',
    window_end: fields.window_start + 60_000,
    partition: 0,
    revision: 1,
    final: false,
    ...EMPTY_WINDOW_MEASURES,
    ...fields,
  };
}

/** The Kafka key of an aggregate message: the entity it is about, so that one entity's messages stay in order. */
export function aggregateKey(message: AggregateMessage): string {
  switch (message.kind) {
    case 'district_window':
      // Per source partition, not per district or window: all of a partition's partials land on one
      // partition of the aggregates topic and arrive in the order published, so a final of a later window
      // proves that every partial of that source partition up to it has arrived (DistrictWindowCompletion).
      return `district_window:${message.stream}:${message.partition}`;
    case 'vehicle_positions':
    case 'population_cells':
      return `${message.kind}:${message.partition}`;
    case 'incident':
    case 'incident_impact':
      return `${message.kind}:${message.incident_id}`;
    case 'district_pulse':
      return `district_pulse:${message.district}:${message.window_start}`;
    case 'watermark':
      return `watermark:${message.stream}:${message.partition}`;
  }
}
