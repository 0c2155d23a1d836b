import type { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import { type ClickHouseClient, selectCompact, selectRows } from '../connectors/clickhouse/client.ts';
import { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { sqlNumber, sqlStringList } from '../connectors/clickhouse/sqlLiteral.ts';
import { eventsAtomic } from '../connectors/clickhouse/tables/atomic.ts';
import { incidentBaseImpact, incidentBaseImpactExact } from '../connectors/clickhouse/tables/base.ts';
import { incidentImpact } from '../connectors/clickhouse/tables/joined.ts';
import { columnNames, qualified } from '../connectors/clickhouse/tables/table.ts';
import { IncidentImpactMessage } from '../contract/aggregates.ts';
import {
  firstOpenings,
  type IncidentOpening,
  impactProximity,
  OPENING_COLUMNS,
} from '../pipeline/incidentImpact.ts';
import { type BaseImpact, publicBaseImpact } from './baseImpact.ts';
import { joinBaseImpacts } from './baseImpactJoin.ts';
import type { BaseLookup } from './baseLookup.ts';

/** The incidents joined again, and the map's messages for them (to the aggregates topic). */
export interface Rejoined {
  readonly incidents: number;
  readonly messages: IncidentImpactMessage[];
}

/** A building a change just written touches (its own version, or a member leaving or joining it), and from when. */
export interface TouchedBuilding {
  readonly building_id: string;
  readonly valid_from_ms: number;
}

/** Incidents per query by id: ids of up to 64 characters stay far below ClickHouse's 256 KiB of query text. */
const ID_LIST = 2_000;

/**
 * Joins again the incidents already joined whose figures a change just written may have altered: those
 * opened at or after the change's valid-from time, within their radius of a place where a touched building
 * stood. Their new rows replace the old ones (ReplacingMergeTree by `computed_at`, so they are written in a
 * later second than the rows they replace). Returns the incidents joined again.
 *
 * The feed applier calls it after writing a batch and before committing it: a crash in between joins them
 * again when the batch comes again.
 */
export async function rejoinTouched(
  client: ClickHouseClient,
  db: { city: string; restricted: string },
  touched: readonly TouchedBuilding[],
  lookup: BaseLookup,
): Promise<Rejoined> {
  const none: Rejoined = { incidents: 0, messages: [] };
  if (touched.length === 0) return none;
  const since = touched.reduce((min, t) => Math.min(min, t.valid_from_ms), Number.POSITIVE_INFINITY);
  // `ts` first: the table is partitioned by its month, so a change of today reads this month only.
  const joined = await selectCompact<[string, string, number, number]>(
    client,
    `SELECT incident_id, toString(ts_ms), radius_m, toUInt32(computed_at)
      FROM ${qualified(incidentBaseImpact, db)} FINAL
      WHERE ts >= toDateTime(${sqlNumber(Math.floor(since / 1000))}) AND ts_ms >= ${sqlNumber(since)}`,
  );
  if (joined.length === 0) return none;
  await lookup.refresh(client);
  const places = touched.flatMap((t) =>
    lookup.buildings.places(t.building_id).map(([, lat, lon]) => ({ from: t.valid_from_ms, lat, lon })),
  );
  const radiusOf = new Map(joined.map(([id, , radius]) => [id, radius]));
  const due: IncidentOpening[] = [];
  for (const x of await openingsOf(client, db.city, [...radiusOf.keys()])) {
    const radius = radiusOf.get(x.incident_id)!;
    if (places.some((p) => p.from <= x.ts_ms && haversineMeters(x.lat, x.lon, p.lat, p.lon) <= radius))
      due.push(x);
  }
  if (due.length === 0) return none;
  const latest = Math.max(...joined.map(([, , , computedAt]) => computedAt));
  while (Math.floor(Date.now() / 1000) <= latest) await new Promise((resolve) => setTimeout(resolve, 50));
  const sink = new ClickHouseSink(client);
  const impacts = new Map<string, BaseImpact>();
  for (const [radius, openings] of byRadius(due, radiusOf)) {
    const rows = await joinBaseImpacts(client, openings, radius, proximity(radius), lookup);
    for (const [id, impact] of rows.impacts) impacts.set(id, impact);
    await sink.insertTsv(qualified(incidentBaseImpact, db), columnNames(incidentBaseImpact), [
      rows.publicTsv,
    ]);
    await sink.insertTsv(qualified(incidentBaseImpactExact, db), columnNames(incidentBaseImpactExact), [
      rows.exactTsv,
    ]);
  }
  return { incidents: due.length, messages: await impactMessages(client, db.city, impacts) };
}

/**
 * The map's `incident_impact` messages of incidents joined again: the stored incident_impact row (vehicles
 * and people present, which no change of the libraries alters) with the new base figures. An incident whose
 * incident_impact row is not written yet gets none: the finalizer's own message comes after it.
 */
async function impactMessages(
  client: ClickHouseClient,
  city: string,
  impacts: ReadonlyMap<string, BaseImpact>,
): Promise<IncidentImpactMessage[]> {
  const messages: IncidentImpactMessage[] = [];
  const ids = [...impacts.keys()];
  for (let i = 0; i < ids.length; i += ID_LIST) {
    const rows = await selectRows<Record<string, string | number>>(
      client,
      `SELECT incident_id, toString(ts_ms) AS ts, district, category, severity, lat, lon, radius_m,
          toString(band_ms) AS band_ms, toString(vehicles) AS vehicles, nearest_vehicles,
          toString(people_present) AS people_present
        FROM ${city}.${incidentImpact.name} FINAL WHERE incident_id IN ${sqlStringList(ids.slice(i, i + ID_LIST))}`,
    );
    for (const row of rows)
      messages.push(
        IncidentImpactMessage.parse({
          kind: 'incident_impact',
          ...row,
          ts: Number(row['ts']),
          band_ms: Number(row['band_ms']),
          vehicles: Number(row['vehicles']),
          people_present: Number(row['people_present']),
          nearest_vehicles: JSON.parse(String(row['nearest_vehicles'])),
          base: publicBaseImpact(impacts.get(String(row['incident_id']))!),
        }),
      );
  }
  return messages;
}

/** The first open reports of these incidents. */
async function openingsOf(client: ClickHouseClient, city: string, ids: readonly string[]) {
  const openings: IncidentOpening[] = [];
  for (let i = 0; i < ids.length; i += ID_LIST) {
    const rows = await selectRows<Record<string, string | number>>(
      client,
      `SELECT ${OPENING_COLUMNS} FROM ${city}.${eventsAtomic.name} FINAL
        WHERE status = 'open' AND incident_id IN ${sqlStringList(ids.slice(i, i + ID_LIST))}`,
    );
    openings.push(...firstOpenings(rows));
  }
  return openings;
}

function byRadius(openings: readonly IncidentOpening[], radiusOf: ReadonlyMap<string, number>) {
  const groups = new Map<number, IncidentOpening[]>();
  for (const x of openings) {
    const radius = radiusOf.get(x.incident_id)!;
    groups.set(radius, [...(groups.get(radius) ?? []), x]);
  }
  return groups;
}

const proximities = new Map<number, H3Proximity>();
function proximity(radiusM: number): H3Proximity {
  let p = proximities.get(radiusM);
  if (p === undefined) {
    p = impactProximity(radiusM);
    proximities.set(radiusM, p);
  }
  return p;
}
