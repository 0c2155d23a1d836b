import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { sqlNumber, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { CityOpsError } from '../errors.ts';

/** Where the history lives: database and table names (identifiers only). */
export interface HistoryTables {
  database: string;
  districtMinute: string;
  districtPulse: string;
  incidentImpact: string;
}

/** The tables the engine writes (issue 4) in database `city`. */
export const DEFAULT_HISTORY_TABLES: HistoryTables = {
  database: 'city',
  districtMinute: 'district_minute',
  districtPulse: 'district_pulse',
  incidentImpact: 'incident_impact',
};

/** What the page's time-window selector replays. Times are epoch ms. */
export interface History {
  minutes: number;
  from: number;
  to: number;
  district: string | null;
  /** Per table: whether it could be read, and why not. */
  sources: Record<
    'district_minute' | 'district_pulse' | 'incident_impact',
    { available: boolean; note?: string }
  >;
  /** Events per stream, district and minute. */
  districtMinute: Array<{ stream: string; district: string; t: number; events: number }>;
  /** The three streams side by side per district and minute. */
  districtPulse: Array<{
    district: string;
    t: number;
    vehicles_seen: number;
    mean_speed_kmh: number | null;
    incidents_opened: number;
    incidents_open: number;
    people_present: number;
    net_inflow: number;
  }>;
  incidentImpact: Array<{
    incident_id: string;
    t: number;
    district: string;
    category: string;
    severity: number;
    lat: number;
    lon: number;
    radius_m: number;
    vehicles: number;
    people_present: number;
    nearest_vehicles: unknown[];
  }>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DISTRICT = /^[0-9a-z_]{1,32}$/;
/** The windows the page offers. */
export const HISTORY_MINUTES = [5, 15, 60] as const;

/**
 * Reads the last `minutes` of district history from ClickHouse as the read-only analyst. A table that
 * does not exist yet (or ClickHouse being down) gives an empty series with a note, not an error: the
 * live map keeps working without history.
 *
 * ClickHouse 18.16 has no query parameters: the values put into SQL (an epoch second, a district code
 * that must match `[0-9a-z_]{1,32}`) go through `sqlLiteral.ts`; table names must be identifiers.
 *
 * @example
 * const history = await queryHistory(createClickHouse(env, 'analyst'), DEFAULT_HISTORY_TABLES, { minutes: 15 });
 */
export async function queryHistory(
  client: ClickHouseClient,
  tables: HistoryTables,
  request: { minutes: number; district?: string | null },
  now = Date.now(),
): Promise<History> {
  if (!(HISTORY_MINUTES as readonly number[]).includes(request.minutes))
    throw new CityOpsError('INVALID_OPTIONS', `minutes must be one of ${HISTORY_MINUTES.join(', ')}`);
  const district = request.district ?? null;
  if (district !== null && !DISTRICT.test(district))
    throw new CityOpsError('INVALID_OPTIONS', 'district must be a district code such as 440304');
  for (const name of Object.values(tables))
    if (!IDENTIFIER.test(name))
      throw new CityOpsError('CONFIG_INVALID', `history table name ${name} is not an identifier`);
  const fromSec = Math.floor(now / 1000) - request.minutes * 60;
  const districtFilter = district ? ` AND district = ${sqlString(district)}` : '';
  const where = `window_start >= toDateTime(${sqlNumber(fromSec)})${districtFilter}`;
  const db = tables.database;
  const history: History = {
    minutes: request.minutes,
    from: fromSec * 1000,
    to: now,
    district,
    sources: {
      district_minute: { available: true },
      district_pulse: { available: true },
      incident_impact: { available: true },
    },
    districtMinute: [],
    districtPulse: [],
    incidentImpact: [],
  };

  const read = async <T>(source: keyof History['sources'], sql: string): Promise<T[]> => {
    try {
      const result = await client.query({ query: sql, format: 'JSONEachRow' });
      return await result.json<T>();
    } catch (error) {
      history.sources[source] = { available: false, note: explainUnreadable(error, `${db}.${source}`) };
      return [];
    }
  };

  const [minuteRows, pulseRows, impactRows] = await Promise.all([
    read<Record<string, string | number>>(
      'district_minute',
      `SELECT stream, district, toUInt64(window_start) * 1000 AS t, sum(events) AS events
       FROM ${db}.${tables.districtMinute} WHERE ${where}
       GROUP BY stream, district, t ORDER BY t, district, stream LIMIT 100000`,
    ),
    read<Record<string, string | number | null>>(
      'district_pulse',
      `SELECT district, toUInt64(window_start) * 1000 AS t, max(vehicles_seen) AS vehicles_seen,
              anyLast(mean_speed_kmh) AS mean_speed_kmh, max(incidents_opened) AS incidents_opened,
              max(incidents_open) AS incidents_open, max(people_present) AS people_present,
              anyLast(net_inflow) AS net_inflow
       FROM ${db}.${tables.districtPulse} WHERE ${where}
       GROUP BY district, t ORDER BY t, district LIMIT 100000`,
    ),
    read<Record<string, string | number>>(
      'incident_impact',
      `SELECT incident_id, toUInt64(ts) * 1000 AS t, district, category, severity, lat, lon, radius_m,
              vehicles, people_present, nearest_vehicles
       FROM ${db}.${tables.incidentImpact}
       WHERE ts >= toDateTime(${sqlNumber(fromSec)})${districtFilter}
       ORDER BY t DESC LIMIT 1000`,
    ),
  ]);

  history.districtMinute = minuteRows.map((r) => ({
    stream: String(r['stream']),
    district: String(r['district']),
    t: Number(r['t']),
    events: Number(r['events']),
  }));
  history.districtPulse = pulseRows.map((r) => ({
    district: String(r['district']),
    t: Number(r['t']),
    vehicles_seen: Number(r['vehicles_seen']),
    mean_speed_kmh: r['mean_speed_kmh'] === null ? null : Number(r['mean_speed_kmh']),
    incidents_opened: Number(r['incidents_opened']),
    incidents_open: Number(r['incidents_open']),
    people_present: Number(r['people_present']),
    net_inflow: Number(r['net_inflow']),
  }));
  history.incidentImpact = impactRows.map((r) => ({
    incident_id: String(r['incident_id']),
    t: Number(r['t']),
    district: String(r['district']),
    category: String(r['category']),
    severity: Number(r['severity']),
    lat: Number(r['lat']),
    lon: Number(r['lon']),
    radius_m: Number(r['radius_m']),
    vehicles: Number(r['vehicles']),
    people_present: Number(r['people_present']),
    nearest_vehicles: parseJsonArray(r['nearest_vehicles']),
  }));
  return history;
}

function parseJsonArray(value: unknown): unknown[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/** Why `table` could not be read, in words an operator can act on. */
export function explainUnreadable(error: unknown, table: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/doesn't exist|does not exist|UNKNOWN_TABLE|UNKNOWN_DATABASE/i.test(message))
    return `${table} does not exist yet: the engine creates it (city-ops migrate); history is empty until then`;
  if (/ECONNREFUSED|ENOTFOUND|timeout|socket hang up/i.test(message))
    return `ClickHouse could not be reached (${message.slice(0, 120)}); live data is unaffected`;
  return `could not read ${table}: ${message.slice(0, 200)}`;
}
