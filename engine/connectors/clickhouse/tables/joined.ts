import { tsvField } from '../sqlLiteral.ts';
import type { TableDefinition } from './table.ts';

/**
 * The integration layer, written by the engine's finalizer once every input partition's watermark has
 * passed the minute (or the incident's time band), so each row is final. Rows are keyed
 * deterministically; a recomputation writes the same row again (ReplacingMergeTree).
 */

/** Per district and minute, the three streams side by side (written by INSERT ... SELECT). */
export const districtPulse: TableDefinition = {
  name: 'district_pulse',
  database: 'city',
  columns: [
    'district String',
    'window_start DateTime',
    'transport_events UInt64',
    'vehicles_seen UInt64',
    'speed_sum Float64',
    'speed_count UInt64',
    'mean_speed_kmh Nullable(Float64)',
    'event_reports UInt64',
    'incidents_opened UInt64',
    'incidents_closed UInt64',
    'incidents_open UInt64',
    'severe_reports UInt64',
    'population_reports UInt64',
    'people_present UInt64',
    'inflow UInt64',
    'outflow UInt64',
    'net_inflow Int64',
    'computed_at DateTime',
  ],
  engine: `ReplacingMergeTree(computed_at) PARTITION BY toYYYYMMDD(window_start)
      ORDER BY (district, window_start)`,
};

export const incidentImpact: TableDefinition = {
  name: 'incident_impact',
  database: 'city',
  columns: [
    'incident_id String',
    'report_id String',
    'ts DateTime',
    'ts_ms UInt64',
    'district String',
    'category String',
    'severity UInt8',
    'lat Float64',
    'lon Float64',
    'cell String',
    'radius_m Float64',
    'band_ms UInt64',
    'vehicles UInt64',
    'vehicle_observations UInt64',
    'nearest_vehicles String',
    'people_present UInt64',
    'population_cells UInt64',
    'computed_at DateTime',
  ],
  engine: 'ReplacingMergeTree(computed_at) PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id)',
};

/** One `incident_impact` row (epoch ms in `ts_ms`, seconds in `computed_at`). */
export interface IncidentImpactRow {
  readonly incident_id: string;
  readonly report_id: string;
  readonly ts_ms: number;
  readonly district: string;
  readonly category: string;
  readonly severity: number;
  readonly lat: number;
  readonly lon: number;
  readonly cell: string;
  readonly radius_m: number;
  readonly band_ms: number;
  readonly vehicles: number;
  readonly vehicle_observations: number;
  /** Already JSON. */
  readonly nearest_vehicles: string;
  readonly people_present: number;
  readonly population_cells: number;
  readonly computed_at: number;
}

export function incidentImpactRow(r: IncidentImpactRow): string {
  return `${tsvField(r.incident_id)}\t${tsvField(r.report_id)}\t${Math.floor(r.ts_ms / 1000)}\t${r.ts_ms}\t${r.district}\t${r.category}\t${r.severity}\t${r.lat}\t${r.lon}\t${r.cell}\t${r.radius_m}\t${r.band_ms}\t${r.vehicles}\t${r.vehicle_observations}\t${tsvField(r.nearest_vehicles)}\t${r.people_present}\t${r.population_cells}\t${r.computed_at}\n`;
}

/**
 * The incidents opened and not closed as of `through`, one snapshot per finalized range of
 * district_pulse (engine/pipeline/pulseInsert.ts); the row with an empty incident_id marks it taken.
 */
export const openIncidents: TableDefinition = {
  name: 'open_incidents',
  database: 'city',
  columns: ['through DateTime', 'incident_id String', 'district String'],
  engine: 'ReplacingMergeTree PARTITION BY toYYYYMMDD(through) ORDER BY (through, incident_id)',
};

export const finalizerProgress: TableDefinition = {
  name: 'finalizer_progress',
  database: 'city',
  columns: ['what String', 'finalized_through_ms UInt64', 'updated_at DateTime'],
  engine: 'ReplacingMergeTree(finalized_through_ms) ORDER BY (what)',
};
