import { gridDisk } from 'h3-js';
import { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import { type ClickHouseClient, selectCompact } from '../connectors/clickhouse/client.ts';
import { sqlNumber, sqlStringList } from '../connectors/clickhouse/sqlLiteral.ts';
import { incidentImpactRow } from '../connectors/clickhouse/tables/joined.ts';
import type { IncidentImpactMessage } from '../contract/aggregates.ts';
import { CELL_RESOLUTION } from '../geo/cells.ts';

const NEAREST_LIMIT = 50;

/** One incident's first "open" report, the row incident_impact is computed for. */
export interface IncidentOpening {
  readonly incident_id: string;
  readonly id: string;
  readonly ts_ms: number;
  readonly district: string;
  readonly category: string;
  readonly severity: number;
  readonly lat: number;
  readonly lon: number;
  readonly cell: string;
}

/** The columns of `events_atomic` an opening is read from, for `firstOpenings`. */
export const OPENING_COLUMNS = 'incident_id, id, ts_ms, district, category, severity, lat, lon, cell';

/** Each incident's first open report among these rows (of `OPENING_COLUMNS`): earliest, then lowest id. */
export function firstOpenings(rows: ReadonlyArray<Record<string, string | number>>): IncidentOpening[] {
  const first = new Map<string, IncidentOpening>();
  for (const r of rows) {
    const opening: IncidentOpening = {
      incident_id: String(r['incident_id']),
      id: String(r['id']),
      ts_ms: Number(r['ts_ms']),
      district: String(r['district']),
      category: String(r['category']),
      severity: Number(r['severity']),
      lat: Number(r['lat']),
      lon: Number(r['lon']),
      cell: String(r['cell']),
    };
    const previous = first.get(opening.incident_id);
    if (
      !previous ||
      opening.ts_ms < previous.ts_ms ||
      (opening.ts_ms === previous.ts_ms && opening.id < previous.id)
    )
      first.set(opening.incident_id, opening);
  }
  return [...first.values()];
}

export interface VehicleObservation {
  readonly vehicle: string;
  readonly mode: string;
  readonly lat: number;
  readonly lon: number;
  readonly ts_ms: number;
}

export interface PopulationReport {
  readonly cell: string;
  readonly ts_ms: number;
  readonly present: number;
}

export interface IncidentImpact {
  readonly vehicles: number;
  readonly vehicleObservations: number;
  readonly nearest: Array<{ vehicle: string; mode: string; distance_m: number }>;
  readonly peoplePresent: number;
  readonly populationCells: number;
}

/**
 * The join that defines `city.incident_impact`, as a pure function (the finalizer and the tests' brute-force
 * check share the definition, not the code path):
 * - vehicles: distinct vehicles with an observation within `radiusM` metres (great circle) and `bandMs`
 *   before or after the incident's first open report;
 * - nearest: each of those vehicles at its closest observation, the 50 closest (ties by vehicle id);
 * - people present: over the incident's H3 cell and `rings` rings around it, each cell's latest report at or
 *   before the incident time and newer than `maxAgeMs`, summed.
 */
export function computeIncidentImpact(
  incident: IncidentOpening,
  observations: Iterable<VehicleObservation>,
  reports: Iterable<PopulationReport>,
  options: { radiusM: number; bandMs: number; rings: number; maxAgeMs: number },
): IncidentImpact {
  const nearestByVehicle = new Map<string, { mode: string; distance_m: number }>();
  let vehicleObservations = 0;
  for (const o of observations) {
    if (Math.abs(o.ts_ms - incident.ts_ms) > options.bandMs) continue;
    const distance = haversineMeters(incident.lat, incident.lon, o.lat, o.lon);
    if (distance > options.radiusM) continue;
    vehicleObservations += 1;
    const previous = nearestByVehicle.get(o.vehicle);
    if (!previous || distance < previous.distance_m)
      nearestByVehicle.set(o.vehicle, { mode: o.mode, distance_m: distance });
  }
  const nearest = [...nearestByVehicle]
    .map(([vehicle, v]) => ({ vehicle, mode: v.mode, distance_m: Math.round(v.distance_m * 10) / 10 }))
    .sort(
      (a, b) => a.distance_m - b.distance_m || (a.vehicle < b.vehicle ? -1 : a.vehicle > b.vehicle ? 1 : 0),
    )
    .slice(0, NEAREST_LIMIT);
  const cells = new Set(gridDisk(incident.cell, options.rings));
  const latest = new Map<string, PopulationReport>();
  for (const r of reports) {
    if (!cells.has(r.cell) || r.ts_ms > incident.ts_ms || r.ts_ms <= incident.ts_ms - options.maxAgeMs)
      continue;
    const previous = latest.get(r.cell);
    if (
      !previous ||
      r.ts_ms > previous.ts_ms ||
      (r.ts_ms === previous.ts_ms && r.present > previous.present)
    ) {
      latest.set(r.cell, r);
    }
  }
  let peoplePresent = 0;
  for (const r of latest.values()) peoplePresent += r.present;
  return {
    vehicles: nearestByVehicle.size,
    vehicleObservations,
    nearest,
    peoplePresent,
    populationCells: latest.size,
  };
}

/** The parameters of the incident_impact join (engine options `impact*`). */
export interface ImpactJoinOptions {
  readonly radiusM: number;
  readonly bandMs: number;
  readonly rings: number;
  readonly populationMaxAgeMs: number;
}

/** The H3 cells whose positions can lie within `radiusM` of a position in a given cell. */
export function impactProximity(radiusM: number): H3Proximity {
  return new H3Proximity({
    radiusMeters: radiusM,
    resolution: CELL_RESOLUTION,
    near: { lat: 22.6, lng: 114.05 },
  });
}

/** The rows of `city.incident_impact` (TSV, in its column order) and the map messages for these incidents. */
export interface JoinedImpacts {
  readonly tsv: string;
  readonly messages: IncidentImpactMessage[];
}

/**
 * Joins a chunk of incidents with the vehicle positions and population counts around them, read from the
 * deduplicated atomic tables of database `city` (two queries for the whole chunk), by `computeIncidentImpact`.
 * It reads and parses many rows (about 1.5 positions per transport event over a replay), so the engine runs
 * it in a worker thread of its own (incidentImpactWorker.ts), off the thread that consumes and windows.
 */
export async function joinIncidentImpacts(
  client: ClickHouseClient,
  city: string,
  openings: readonly IncidentOpening[],
  o: ImpactJoinOptions,
  proximity: H3Proximity,
): Promise<JoinedImpacts> {
  const minTs = Math.min(...openings.map((x) => x.ts_ms));
  const maxTs = Math.max(...openings.map((x) => x.ts_ms));
  const vehicleCells = new Set<string>();
  const peopleCells = new Set<string>();
  for (const x of openings) {
    for (const c of proximity.candidates(x.cell)) vehicleCells.add(c);
    for (const c of gridDisk(x.cell, o.rings)) peopleCells.add(c);
  }
  // Arrays, not objects: parsing the rows is most of a chunk's cost, and keys repeated on every row add to it.
  const observations = (
    await selectCompact<[string, string, number, number, string, string]>(
      client,
      `SELECT vehicle, mode, lat, lon, toString(ts_ms), cell FROM ${city}.transport_atomic FINAL
         WHERE ${timeRange(Math.max(0, minTs - o.bandMs), maxTs + o.bandMs, true)}
           AND cell IN ${sqlStringList([...vehicleCells])}`,
    )
  ).map(([vehicle, mode, lat, lon, ts, cell]) => ({ vehicle, mode, lat, lon, ts_ms: Number(ts), cell }));
  const reports = (
    await selectCompact<[string, string, number]>(
      client,
      `SELECT cell, toString(ts_ms), present FROM ${city}.population_atomic FINAL
         WHERE ${timeRange(Math.max(0, minTs - o.populationMaxAgeMs), maxTs, false)}
           AND cell IN ${sqlStringList([...peopleCells])}`,
    )
  ).map(([cell, ts, present]) => ({ cell, ts_ms: Number(ts), present }));
  // Each incident reads only the rows of its own cells: scanning the chunk's population reports for each
  // incident made a chunk cost incidents x reports (0.6 s of CPU per 200 incidents on a full day's store).
  const byCell = groupByCell(observations);
  const reportsByCell = groupByCell(reports);
  let tsv = '';
  const messages: IncidentImpactMessage[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (const x of openings) {
    const nearby = rowsOf(byCell, proximity.candidates(x.cell));
    const around = rowsOf(reportsByCell, gridDisk(x.cell, o.rings));
    const impact = computeIncidentImpact(x, nearby, around, {
      radiusM: o.radiusM,
      bandMs: o.bandMs,
      rings: o.rings,
      maxAgeMs: o.populationMaxAgeMs,
    });
    tsv += incidentImpactRow({
      incident_id: x.incident_id,
      report_id: x.id,
      ts_ms: x.ts_ms,
      district: x.district,
      category: x.category,
      severity: x.severity,
      lat: x.lat,
      lon: x.lon,
      cell: x.cell,
      radius_m: o.radiusM,
      band_ms: o.bandMs,
      vehicles: impact.vehicles,
      vehicle_observations: impact.vehicleObservations,
      nearest_vehicles: JSON.stringify(impact.nearest),
      people_present: impact.peoplePresent,
      population_cells: impact.populationCells,
      computed_at: now,
    });
    messages.push({
      kind: 'incident_impact',
      incident_id: x.incident_id,
      ts: x.ts_ms,
      district: x.district,
      category: x.category,
      severity: x.severity,
      lat: x.lat,
      lon: x.lon,
      radius_m: o.radiusM,
      band_ms: o.bandMs,
      vehicles: impact.vehicles,
      nearest_vehicles: impact.nearest,
      people_present: impact.peoplePresent,
    });
  }
  return { tsv, messages };
}

/** The rows of these cells, in one array (a loop: with flatMap, 1,000 incidents took 1.35 s, with this 0.76 s). */
function rowsOf<T>(byCell: ReadonlyMap<string, T[]>, cells: readonly string[]): T[] {
  const rows: T[] = [];
  for (const cell of cells) {
    const list = byCell.get(cell);
    if (list) for (const row of list) rows.push(row);
  }
  return rows;
}

function groupByCell<T extends { readonly cell: string }>(rows: readonly T[]): Map<string, T[]> {
  const byCell = new Map<string, T[]>();
  for (const row of rows) {
    const list = byCell.get(row.cell);
    if (list) list.push(row);
    else byCell.set(row.cell, [row]);
  }
  return byCell;
}

/**
 * `ts_ms` in [from, to] (or (from, to] when `fromInclusive` is false), also stated on the whole second `ts`
 * (`floor(ts_ms / 1000)`): `ts` leads the sort key of the position tables (by its 15-minute bucket) and
 * is their partition key, so ClickHouse reads only the parts and granules of those minutes.
 */
function timeRange(from: number, to: number, fromInclusive: boolean): string {
  return `ts >= toDateTime(${sqlNumber(Math.floor(from / 1000))}) AND ts <= toDateTime(${sqlNumber(Math.floor(to / 1000))})
           AND ts_ms ${fromInclusive ? '>=' : '>'} ${sqlNumber(from)} AND ts_ms <= ${sqlNumber(to)}`;
}
