import {
  ISO_8601,
  isContractCell,
  NO_INVISIBLE_CHARACTERS,
  type PopulationRecord,
  TRANSPORT_MODES,
  type TransportRecord,
} from './exchangeRecords.ts';
import type { StreamName } from './topics.ts';

/**
 * Hand-written acceptance of the common, well-formed transport and population records, tried before the
 * zod schemas of exchangeRecords.ts. Why not zod alone: a CPU profile of `bench:day` put zod's safeParse
 * at about a quarter of each worker's busy time, more than JSON.parse, and these two streams are 97% of
 * the volume. Why it cannot change a result: a check here only ever *accepts*; anything it is not sure of
 * (an unknown key, a null, a value out of range, a wrong type) returns undefined and goes through the zod
 * schema, which decides and names the reason. So it must accept only what zod accepts, with the same
 * output; `tests/unit/contract/fastAccept.test.ts` checks that property on generated records. Events go
 * through zod always (their reporter and free text are rarer and more varied).
 */
export function fastAccept(
  stream: StreamName,
  value: Record<string, unknown>,
): TransportRecord | PopulationRecord | undefined {
  if (stream === 'transport') return acceptTransport(value);
  if (stream === 'population') return acceptPopulation(value);
  return undefined;
}

const MODES: ReadonlySet<unknown> = new Set(TRANSPORT_MODES);
const TRANSPORT_KEYS: ReadonlySet<string> = new Set([
  'id',
  'ts',
  'vehicle',
  'mode',
  'route',
  'lat',
  'lon',
  'speed_kmh',
  'occupancy',
]);
const POPULATION_KEYS: ReadonlySet<string> = new Set([
  'id',
  'ts',
  'lat',
  'lon',
  'h3',
  'present',
  'inflow',
  'outflow',
]);

function onlyKeys(value: Record<string, unknown>, keys: ReadonlySet<string>): boolean {
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}

const isId = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= 128 && NO_INVISIBLE_CHARACTERS.test(v);
const isName = isId;
const isEventTime = (v: unknown): boolean =>
  typeof v === 'number' ? Number.isSafeInteger(v) : typeof v === 'string' && ISO_8601.test(v);
const inRange = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && v >= min && v <= max;
const intInRange = (v: unknown, min: number, max: number): v is number =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function acceptTransport(r: Record<string, unknown>): TransportRecord | undefined {
  if (
    isId(r['id']) &&
    isEventTime(r['ts']) &&
    isName(r['vehicle']) &&
    MODES.has(r['mode']) &&
    (r['route'] === undefined || isName(r['route'])) &&
    inRange(r['lat'], -90, 90) &&
    inRange(r['lon'], -180, 180) &&
    (r['speed_kmh'] === undefined || inRange(r['speed_kmh'], 0, 400)) &&
    (r['occupancy'] === undefined || intInRange(r['occupancy'], 0, 10_000)) &&
    onlyKeys(r, TRANSPORT_KEYS)
  ) {
    return r as unknown as TransportRecord;
  }
  return undefined;
}

function acceptPopulation(r: Record<string, unknown>): PopulationRecord | undefined {
  const lat = r['lat'];
  const lon = r['lon'];
  const h3 = r['h3'];
  if (
    isId(r['id']) &&
    isEventTime(r['ts']) &&
    (lat === undefined || inRange(lat, -90, 90)) &&
    (lon === undefined || inRange(lon, -180, 180)) &&
    (h3 === undefined || (typeof h3 === 'string' && isContractCell(h3))) &&
    (h3 !== undefined || (lat !== undefined && lon !== undefined)) &&
    intInRange(r['present'], 0, 10_000_000) &&
    intInRange(r['inflow'], 0, 10_000_000) &&
    intInRange(r['outflow'], 0, 10_000_000) &&
    onlyKeys(r, POPULATION_KEYS)
  ) {
    return r as unknown as PopulationRecord;
  }
  return undefined;
}
