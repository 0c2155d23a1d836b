import { latLngToCell } from 'h3-js';
import { type AnyBaseChange, BASE_FEEDS, type BaseFeed } from '../contract/baseChanges.ts';
import type { RecordFault } from '../contract/decodeRecord.ts';
import { issueFault, readJsonObject } from '../contract/decodeRecord.ts';
import { MAX_EVENT_TIME, MIN_EVENT_TIME } from '../contract/exchangeRecords.ts';
import { CELL_RESOLUTION } from '../geo/cells.ts';
import { shenzhenDistricts } from '../geo/shenzhenDistricts.ts';

export type DecodedChange =
  | { ok: true; change: AnyBaseChange; validFromMs: number; district?: string; cell?: string }
  | { ok: false; reason: RecordFault; detail: string };

/**
 * One message of a base feed: a JSON object, valid against its feed's schema, with a `valid_from` between
 * 2000 and 2100; a building's upsert also lies inside the city and gets its district and cell. Anything
 * else is the dead-letter reason and detail, as the input streams name them.
 */
export function decodeBaseChange(
  feed: BaseFeed,
  value: Uint8Array | string | null | undefined,
): DecodedChange {
  const read = readJsonObject(value);
  if (!read.ok) return read;
  const checked = BASE_FEEDS[feed].schema.safeParse(read.value);
  if (!checked.success) return issueFault(checked.error.issues[0]);
  const change = checked.data as AnyBaseChange;
  const validFromMs =
    typeof change.valid_from === 'number' ? change.valid_from : Date.parse(change.valid_from);
  if (!Number.isFinite(validFromMs) || validFromMs < MIN_EVENT_TIME || validFromMs >= MAX_EVENT_TIME)
    return {
      ok: false,
      reason: 'impossible_timestamp',
      detail: `valid_from ${JSON.stringify(change.valid_from)} is not between 2000 and 2100`,
    };
  if (feed !== 'buildings' || change.op !== 'upsert') return { ok: true, change, validFromMs };
  const { lat, lon } = change as Extract<AnyBaseChange, { lat: number }>;
  const district = shenzhenDistricts().index.lookup(lon, lat);
  if (district === undefined || district === null)
    return {
      ok: false,
      reason: 'impossible_coordinates',
      detail: `lat ${lat}, lon ${lon} is in none of the city's districts`,
    };
  return { ok: true, change, validFromMs, district, cell: latLngToCell(lat, lon, CELL_RESOLUTION) };
}
