import { cellToLatLng } from 'h3-js';
import { H3GridCache } from '../../operators/geo/H3GridCache.ts';
import { type RowBinaryChunk, RowBinaryWriter } from '../connectors/clickhouse/rowBinary.ts';
import {
  eventRawRow,
  eventRow,
  populationRow,
  transportRow,
} from '../connectors/clickhouse/tables/atomic.ts';
import type { DeadLetter } from '../connectors/clickhouse/tables/layers.ts';
import type { IncidentMessage } from '../contract/aggregates.ts';
import {
  type DeadLetterReason,
  type DecodedRecord,
  decodeRecord,
  type RecordClock,
} from '../contract/decodeRecord.ts';
import {
  type CityEventRecord,
  type PopulationRecord,
  TRANSPORT_MODES,
  type TransportRecord,
} from '../contract/exchangeRecords.ts';
import type { StreamName } from '../contract/topics.ts';
import { CELL_RESOLUTION } from '../geo/cells.ts';
import { shenzhenDistricts } from '../geo/shenzhenDistricts.ts';
import { maskFreeText, maskIdNumber, maskName, maskPayload, maskPhone } from '../privacy/mask.ts';

/** Dead-letter payloads keep at most this many characters in `city.dead_letters`, masked before the cut. */
export const DEAD_LETTER_PAYLOAD_LIMIT = 4_096;
/** District code of positions outside every district polygon. */
export const OUTSIDE = 'outside';

const { index, districts } = shenzhenDistricts();

/**
 * The districts of `AcceptedColumns.districtCodes`, by code (the last one is `outside`). Small codes instead
 * of strings: the columns cross the thread boundary by structured clone, which copies a typed array in one
 * piece but makes a new string for every element, and the main thread is the engine's busiest.
 */
export const DISTRICT_BY_CODE: readonly string[] = Object.freeze([...districts.map((d) => d.code), OUTSIDE]);
/** The labels of `AcceptedColumns.labelCodes`, by code: transport modes, event statuses, '' (population). */
export const LABEL_BY_CODE: readonly string[] = Object.freeze([...TRANSPORT_MODES, 'open', 'closed', '']);
const districtCode = new Map(DISTRICT_BY_CODE.map((d, code) => [d, code]));
const labelCode = new Map(LABEL_BY_CODE.map((l, code) => [l, code]));

/**
 * A batch of Kafka messages from ONE partition, in offset order, packed for a cheap hand-over to a worker
 * thread: the values are concatenated into one buffer (transferred, not copied).
 */
export interface BatchTask {
  readonly stream: StreamName;
  readonly topic: string;
  readonly partition: number;
  readonly offsets: Float64Array;
  /** Kafka message timestamps, epoch ms (0 when absent). */
  readonly timestamps: Float64Array;
  /** The keys, concatenated like the values (transferred too). */
  readonly keyPayload: Uint8Array;
  /** Length of each key in `keyPayload`; -1 for a null key. */
  readonly keyLengths: Int32Array;
  readonly payload: Uint8Array;
  /** Length of each value in `payload`; -1 for a null value. */
  readonly lengths: Int32Array;
  /** The engine's clock when the batch was taken (also `ingested_at`), and the event-time limits. */
  readonly clock: RecordClock;
}

/** The accepted records of a batch, columnar (one entry per record, in offset order). */
export interface AcceptedColumns {
  readonly count: number;
  readonly offsets: Float64Array;
  readonly ts: Float64Array;
  readonly ids: string[];
  /** The entity: transport vehicle, events incident_id, population H3 cell. */
  readonly entities: string[];
  /** Index in `DISTRICT_BY_CODE`. */
  readonly districtCodes: Uint8Array;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  /** transport: speed (NaN when absent); events: severity; population: people present. */
  readonly measure: Float64Array;
  /** Index in `LABEL_BY_CODE`: transport mode; events status ('open' | 'closed'); population ''. */
  readonly labelCodes: Uint8Array;
  /** population: inflow and outflow; 0 otherwise. */
  readonly inflow: Float64Array;
  readonly outflow: Float64Array;
}

export type { DeadLetter };

export interface BatchResult {
  readonly stream: StreamName;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly accepted: AcceptedColumns;
  /** RowBinary rows for the stream's atomic table (masked), ready to send as they are. */
  readonly atomic: RowBinaryChunk;
  /** RowBinary rows for `events_raw` in the restricted database (events only). */
  readonly restricted: RowBinaryChunk;
  readonly deadLetters: DeadLetter[];
  /** Masked incident messages for the live map and alerts (events only). */
  readonly incidents: IncidentMessage[];
}

const decoder = new TextDecoder('utf-8', { fatal: false });
/** This thread's insert bodies, reused from batch to batch. */
const atomicRows = new RowBinaryWriter();
const restrictedRows = new RowBinaryWriter();

/**
 * Decodes, validates and enriches one batch: the CPU-heavy, stateless part of the pipeline, run in
 * piscina worker threads. Every message ends either accepted (with district and H3 cell) or as a dead
 * letter with its reason; none is skipped.
 */
export function processBatch(task: BatchTask): BatchResult {
  if (FAULT !== undefined) injectFault(task);
  const n = task.offsets.length;
  const accepted = newColumns(n);
  const deadLetters: DeadLetter[] = [];
  const incidents: IncidentMessage[] = [];
  atomicRows.reset();
  restrictedRows.reset();
  // One object for every record's source columns, its offset set per record.
  const from = { partition: task.partition, offset: 0, ingestedAt: task.clock.now };
  let position = 0;
  let keyPosition = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const length = task.lengths[i]!;
    const bytes = length < 0 ? null : task.payload.subarray(position, position + length);
    if (length > 0) position += length;
    const keyStart = keyPosition;
    if (task.keyLengths[i]! > 0) keyPosition += task.keyLengths[i]!;
    const offset = task.offsets[i]!;
    const messageTs = task.timestamps[i]!;
    const decoded = decodeRecord(task.stream, bytes, messageTs > 0 ? messageTs : undefined, task.clock);
    // No closure per record for the dead-letter path: creating one costs on every record, failing or not.
    if (!decoded.ok) {
      deadLetters.push(toDeadLetter(task, i, decoded.reason, decoded.detail, bytes, keyStart, keyPosition));
      continue;
    }
    // Everything that may fail for one record is computed before any of its rows is written: a failure
    // dead-letters that record, and the batch (and the partition's offsets) go on.
    let place: Readonly<Place>;
    try {
      place = placeOf(decoded);
    } catch (error) {
      const detail = `district or cell: ${(error as Error).message}`;
      deadLetters.push(toDeadLetter(task, i, 'enrichment_failed', detail, bytes, keyStart, keyPosition));
      continue;
    }
    const { lat, lon, cell, district } = place;
    const ts = decoded.ts;
    from.offset = offset;
    accepted.offsets[count] = offset;
    accepted.ts[count] = ts;
    accepted.districtCodes[count] = districtCode.get(district)!;
    accepted.lat[count] = lat;
    accepted.lon[count] = lon;
    switch (decoded.stream) {
      case 'transport': {
        const r: TransportRecord = decoded.record;
        accepted.ids[count] = r.id;
        accepted.entities[count] = r.vehicle;
        accepted.measure[count] = r.speed_kmh ?? Number.NaN;
        accepted.labelCodes[count] = labelCode.get(r.mode)!;
        transportRow(atomicRows, r, ts, lat, lon, district, cell, from);
        break;
      }
      case 'events': {
        const r: CityEventRecord = decoded.record;
        const incidentId = r.incident_id ?? r.id;
        accepted.ids[count] = r.id;
        accepted.entities[count] = incidentId;
        accepted.measure[count] = r.severity;
        accepted.labelCodes[count] = labelCode.get(r.status)!;
        const reporter = r.reporter;
        const masked = {
          name: reporter?.name ? maskName(reporter.name) : null,
          phone: reporter?.phone ? maskPhone(reporter.phone) : null,
          id_number: reporter?.id_number ? maskIdNumber(reporter.id_number) : null,
        };
        const description = maskFreeText(r.description ?? '', reporter);
        eventRow(atomicRows, r, ts, lat, lon, district, cell, description, masked, from);
        const payload = bytes === null ? '' : decoder.decode(bytes);
        eventRawRow(restrictedRows, r, ts, payload, from);
        incidents.push({
          kind: 'incident',
          id: r.id,
          incident_id: incidentId,
          ts,
          category: r.category,
          severity: r.severity,
          status: r.status,
          lat,
          lon,
          district,
          cell,
          source: r.source ?? null,
          description: r.description === undefined ? null : description,
          reporter: reporter ? masked : null,
        });
        break;
      }
      case 'population': {
        const r: PopulationRecord = decoded.record;
        accepted.ids[count] = r.id;
        accepted.entities[count] = cell;
        accepted.measure[count] = r.present;
        accepted.labelCodes[count] = labelCode.get('')!;
        accepted.inflow[count] = r.inflow;
        accepted.outflow[count] = r.outflow;
        populationRow(atomicRows, r, ts, lat, lon, district, cell, from);
        break;
      }
    }
    count++;
  }
  return {
    stream: task.stream,
    partition: task.partition,
    firstOffset: n > 0 ? task.offsets[0]! : -1,
    lastOffset: n > 0 ? task.offsets[n - 1]! : -1,
    accepted: sliceColumns(accepted, count),
    atomic: atomicRows.take(),
    restricted: restrictedRows.take(),
    deadLetters,
    incidents,
  };
}

function newColumns(n: number): AcceptedColumns {
  return {
    count: 0,
    offsets: new Float64Array(n),
    ts: new Float64Array(n),
    ids: new Array<string>(n),
    entities: new Array<string>(n),
    districtCodes: new Uint8Array(n),
    lat: new Float64Array(n),
    lon: new Float64Array(n),
    measure: new Float64Array(n),
    labelCodes: new Uint8Array(n),
    inflow: new Float64Array(n),
    outflow: new Float64Array(n),
  };
}

function sliceColumns(c: AcceptedColumns, count: number): AcceptedColumns {
  return {
    count,
    // slice, not subarray: a view would carry the whole buffer across the thread boundary.
    offsets: c.offsets.slice(0, count),
    ts: c.ts.slice(0, count),
    ids: c.ids.slice(0, count),
    entities: c.entities.slice(0, count),
    districtCodes: c.districtCodes.slice(0, count),
    lat: c.lat.slice(0, count),
    lon: c.lon.slice(0, count),
    measure: c.measure.slice(0, count),
    labelCodes: c.labelCodes.slice(0, count),
    inflow: c.inflow.slice(0, count),
    outflow: c.outflow.slice(0, count),
  };
}

/**
 * A test hook: `CITY_OPS_TEST_FAIL_AT=<topic>:<partition>:<offset>` makes the batch holding that message
 * fail in the worker, as a defect would, so tests can prove that nothing is committed past it.
 */
const FAULT = /^(.+):(\d+):(\d+)$/.exec(process.env['CITY_OPS_TEST_FAIL_AT'] ?? '')?.slice(1);

function injectFault(task: BatchTask): void {
  const [topic, partition, offset] = FAULT!;
  if (task.topic !== topic || task.partition !== Number(partition)) return;
  if (task.offsets.includes(Number(offset)))
    throw new Error(
      `injected fault (CITY_OPS_TEST_FAIL_AT) in the batch holding ${topic}[${partition}]@${offset}`,
    );
}

interface Place {
  lat: number;
  lon: number;
  cell: string;
  district: string;
}

/** The cell of a position, from a grid of squares that lie inside one cell where it can (H3GridCache). */
const cells = new H3GridCache({ resolution: CELL_RESOLUTION, bbox: index.bbox });
/** Centres of the cells population records name; started over when it holds this many. */
const CENTRES_KEPT = 100_000;
const centres = new Map<string, [number, number]>();
/** placeOf's answer, one object for every record: read it before the next call. */
const place: Place = { lat: 0, lon: 0, cell: '', district: '' };

/** Where a decoded record is: its position (a population record by cell has its cell's centre), cell, district. */
function placeOf(decoded: DecodedRecord): Readonly<Place> {
  if (decoded.stream === 'population' && decoded.record.lat === undefined) {
    const cell = decoded.record.h3!;
    let centre = centres.get(cell);
    if (centre === undefined) {
      if (centres.size >= CENTRES_KEPT) centres.clear();
      centre = cellToLatLng(cell);
      centres.set(cell, centre);
    }
    place.cell = cell;
    place.lat = centre[0];
    place.lon = centre[1];
  } else {
    const positioned = decoded.record as { lat: number; lon: number };
    place.lat = positioned.lat;
    place.lon = positioned.lon;
    place.cell = cells.cell(place.lat, place.lon);
  }
  place.district = index.lookup(place.lon, place.lat) ?? OUTSIDE;
  return place;
}

function toDeadLetter(
  task: BatchTask,
  i: number,
  reason: DeadLetterReason,
  detail: string,
  bytes: Uint8Array | null,
  keyStart: number,
  keyEnd: number,
): DeadLetter {
  const raw = bytes === null ? '' : decoder.decode(bytes);
  const key = task.keyPayload.subarray(keyStart, keyEnd);
  const offset = task.offsets[i]!;
  const messageTs = task.timestamps[i]!;
  return {
    offset,
    reason,
    detail: maskFreeText(detail),
    key: maskFreeText(decoder.decode(key)),
    messageTs,
    bytes: bytes?.length ?? 0,
    payload: maskPayload(raw, DEAD_LETTER_PAYLOAD_LIMIT),
    rawPayload: raw,
  };
}
