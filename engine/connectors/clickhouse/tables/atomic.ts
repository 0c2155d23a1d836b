import type {
  CityEventRecord,
  PopulationRecord,
  TransportRecord,
} from '../../../contract/exchangeRecords.ts';
import { tsvField } from '../sqlLiteral.ts';
import { SOURCE_COLUMNS, type TableDefinition } from './table.ts';

/**
 * The cleaned layer: one row per accepted record, masked, deduplicated by event id (ReplacingMergeTree),
 * plus the raw incident reports with their personal data in the restricted database.
 *
 * The row encoders take positional arguments, not a row object: they run once per record in the workers.
 * `tail` is the TabSeparated end of the row: `\t<source_partition>\t<source_offset>\t<ingested_at>\n`.
 */

/**
 * Sorted by a 15-minute bucket of event time first, then by H3 cell: the finalizer's interval join asks
 * for "these cells, these minutes", and a key led by the cell alone made it read a granule (8 192 rows)
 * of every cell for the whole day; led by the bucket, it reads only the buckets the minutes fall in.
 */
export const transportAtomic: TableDefinition = {
  name: 'transport_atomic',
  database: 'city',
  columns: [
    'id String',
    'ts DateTime',
    'ts_ms UInt64',
    'vehicle String',
    'mode String',
    'route String',
    'lat Float64',
    'lon Float64',
    'speed_kmh Nullable(Float32)',
    'occupancy Nullable(UInt16)',
    'district String',
    'cell String',
    ...SOURCE_COLUMNS,
  ],
  engine: `ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
      ORDER BY (toStartOfFifteenMinutes(ts), cell, ts_ms, id)`,
};

export function transportRow(
  r: TransportRecord,
  ts: number,
  lat: number,
  lon: number,
  district: string,
  cell: string,
  tail: string,
): string {
  return `${tsvField(r.id)}\t${Math.floor(ts / 1000)}\t${ts}\t${tsvField(r.vehicle)}\t${r.mode}\t${tsvField(r.route ?? '')}\t${lat}\t${lon}\t${r.speed_kmh ?? '\\N'}\t${r.occupancy ?? '\\N'}\t${district}\t${cell}${tail}`;
}

export const eventsAtomic: TableDefinition = {
  name: 'events_atomic',
  database: 'city',
  columns: [
    'id String',
    'incident_id String',
    'ts DateTime',
    'ts_ms UInt64',
    'category String',
    'severity UInt8',
    'status String',
    'source String',
    'lat Float64',
    'lon Float64',
    'district String',
    'cell String',
    'description String',
    'reporter_name String',
    'reporter_phone String',
    'reporter_id_number String',
    'has_reporter UInt8',
    ...SOURCE_COLUMNS,
  ],
  engine: 'ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id, ts_ms, id)',
};

/** The reporter's fields as masked for the analysts (empty when absent). */
export interface MaskedReporter {
  readonly name: string | null;
  readonly phone: string | null;
  readonly id_number: string | null;
}

export function eventRow(
  r: CityEventRecord,
  ts: number,
  lat: number,
  lon: number,
  district: string,
  cell: string,
  description: string,
  masked: MaskedReporter,
  tail: string,
): string {
  const incidentId = r.incident_id ?? r.id;
  return `${tsvField(r.id)}\t${tsvField(incidentId)}\t${Math.floor(ts / 1000)}\t${ts}\t${r.category}\t${r.severity}\t${r.status}\t${r.source ?? ''}\t${lat}\t${lon}\t${district}\t${cell}\t${tsvField(description)}\t${tsvField(masked.name ?? '')}\t${tsvField(masked.phone ?? '')}\t${tsvField(masked.id_number ?? '')}\t${r.reporter ? 1 : 0}${tail}`;
}

export const populationAtomic: TableDefinition = {
  name: 'population_atomic',
  database: 'city',
  columns: [
    'id String',
    'ts DateTime',
    'ts_ms UInt64',
    'cell String',
    'lat Float64',
    'lon Float64',
    'district String',
    'present UInt32',
    'inflow UInt32',
    'outflow UInt32',
    ...SOURCE_COLUMNS,
  ],
  engine: `ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
      ORDER BY (toStartOfFifteenMinutes(ts), cell, ts_ms, id)`,
};

export function populationRow(
  r: PopulationRecord,
  ts: number,
  lat: number,
  lon: number,
  district: string,
  cell: string,
  tail: string,
): string {
  return `${tsvField(r.id)}\t${Math.floor(ts / 1000)}\t${ts}\t${cell}\t${lat}\t${lon}\t${district}\t${r.present}\t${r.inflow}\t${r.outflow}${tail}`;
}

/** Whole incident reports, with the reporter's personal data: the restricted database only. */
export const eventsRaw: TableDefinition = {
  name: 'events_raw',
  database: 'restricted',
  columns: [
    'id String',
    'incident_id String',
    'ts DateTime',
    'ts_ms UInt64',
    'reporter_name String',
    'reporter_phone String',
    'reporter_id_number String',
    'payload String',
    ...SOURCE_COLUMNS,
  ],
  engine: 'ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id, ts_ms, id)',
};

export function eventRawRow(r: CityEventRecord, ts: number, payload: string, tail: string): string {
  const reporter = r.reporter;
  return `${tsvField(r.id)}\t${tsvField(r.incident_id ?? r.id)}\t${Math.floor(ts / 1000)}\t${ts}\t${tsvField(reporter?.name ?? '')}\t${tsvField(reporter?.phone ?? '')}\t${tsvField(reporter?.id_number ?? '')}\t${tsvField(payload)}${tail}`;
}
