import type {
  CityEventRecord,
  PopulationRecord,
  TransportRecord,
} from '../../../contract/exchangeRecords.ts';
import type { RowBinaryWriter } from '../rowBinary.ts';
import { SOURCE_COLUMNS, type TableDefinition } from './table.ts';

/**
 * The cleaned layer: one row per accepted record, masked, deduplicated by event id (ReplacingMergeTree),
 * plus the raw incident reports with their personal data in the restricted database.
 *
 * The row encoders write RowBinary (see RowBinaryWriter), column by column in the order declared, and take
 * positional arguments rather than a row object: they run once per record in the workers.
 */

/** Where a record came from: the SOURCE_COLUMNS that end each row. */
export interface RecordSource {
  readonly partition: number;
  readonly offset: number;
  /** Epoch milliseconds. */
  readonly ingestedAt: number;
}

function source(w: RowBinaryWriter, s: RecordSource): void {
  w.uint16(s.partition);
  w.uint64(s.offset);
  w.dateTime(s.ingestedAt);
  w.endRow();
}

/**
 * Positions are sorted by a 15-minute bucket of event time first, then by H3 cell: the finalizer's
 * interval join asks for "these cells, these minutes", and a key led by the cell alone made it read a
 * granule (8 192 rows) of every cell for the whole day; led by the bucket, it reads only the buckets the
 * minutes fall in.
 */
const BY_TIME_THEN_CELL = `ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
      ORDER BY (toStartOfFifteenMinutes(ts), cell, ts_ms, id)`;
/** Incident reports are read by incident (the lifecycle, the joins). */
const BY_INCIDENT = 'ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id, ts_ms, id)';

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
  engine: BY_TIME_THEN_CELL,
};

export function transportRow(
  w: RowBinaryWriter,
  r: TransportRecord,
  ts: number,
  lat: number,
  lon: number,
  district: string,
  cell: string,
  from: RecordSource,
): void {
  w.string(r.id);
  w.dateTime(ts);
  w.uint64(ts);
  w.string(r.vehicle);
  w.string(r.mode);
  w.string(r.route ?? '');
  w.float64(lat);
  w.float64(lon);
  if (!w.isNull(r.speed_kmh)) w.float32(r.speed_kmh!);
  if (!w.isNull(r.occupancy)) w.uint16(r.occupancy!);
  w.string(district);
  w.string(cell);
  source(w, from);
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
  engine: BY_INCIDENT,
};

/** The reporter's fields as masked for the analysts (empty when absent). */
export interface MaskedReporter {
  readonly name: string | null;
  readonly phone: string | null;
  readonly id_number: string | null;
}

export function eventRow(
  w: RowBinaryWriter,
  r: CityEventRecord,
  ts: number,
  lat: number,
  lon: number,
  district: string,
  cell: string,
  description: string,
  masked: MaskedReporter,
  from: RecordSource,
): void {
  w.string(r.id);
  w.string(r.incident_id ?? r.id);
  w.dateTime(ts);
  w.uint64(ts);
  w.string(r.category);
  w.uint8(r.severity);
  w.string(r.status);
  w.string(r.source ?? '');
  w.float64(lat);
  w.float64(lon);
  w.string(district);
  w.string(cell);
  w.string(description);
  w.string(masked.name ?? '');
  w.string(masked.phone ?? '');
  w.string(masked.id_number ?? '');
  w.uint8(r.reporter ? 1 : 0);
  source(w, from);
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
  engine: BY_TIME_THEN_CELL,
};

export function populationRow(
  w: RowBinaryWriter,
  r: PopulationRecord,
  ts: number,
  lat: number,
  lon: number,
  district: string,
  cell: string,
  from: RecordSource,
): void {
  w.string(r.id);
  w.dateTime(ts);
  w.uint64(ts);
  w.string(cell);
  w.float64(lat);
  w.float64(lon);
  w.string(district);
  w.uint32(r.present);
  w.uint32(r.inflow);
  w.uint32(r.outflow);
  source(w, from);
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
  engine: BY_INCIDENT,
};

export function eventRawRow(
  w: RowBinaryWriter,
  r: CityEventRecord,
  ts: number,
  payload: string,
  from: RecordSource,
): void {
  const reporter = r.reporter;
  w.string(r.id);
  w.string(r.incident_id ?? r.id);
  w.dateTime(ts);
  w.uint64(ts);
  w.string(reporter?.name ?? '');
  w.string(reporter?.phone ?? '');
  w.string(reporter?.id_number ?? '');
  w.string(payload);
  source(w, from);
}
