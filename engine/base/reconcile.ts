import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { type ClickHouseClient, selectCompact } from '../connectors/clickhouse/client.ts';
import { sqlNumber, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { baseBuildings, baseMembership, basePeople } from '../connectors/clickhouse/tables/base.ts';
import { qualified } from '../connectors/clickhouse/tables/table.ts';
import { BASE_FEEDS, type BaseFeed } from '../contract/baseChanges.ts';
import { FEED_MEMBER } from './feedBatch.ts';

/** The fields a batch copy is compared on, per library (a record's id aside). */
export const COMPARED: Readonly<Record<BaseFeed, readonly string[]>> = {
  buildings: ['lat', 'lon', 'use', 'floors'],
  dwellings: ['building_id', 'floor_area_m2', 'rooms'],
  legal_persons: ['building_id', 'industry', 'employees'],
  population: ['building_id', 'dwelling_id', 'name', 'id_number', 'phone', 'birth_date'],
};

type Fields = Record<string, unknown>;

export interface Reconciliation {
  readonly library: BaseFeed;
  readonly asOfMs: number;
  readonly batchId: string;
  readonly copy: number;
  readonly store: number;
  readonly missing: number;
  readonly extra: number;
  readonly differs: number;
  /** Lines of the file that are not a valid record: line number and why (no values: they may be personal). */
  readonly invalid: Array<{ line: number; problem: string }>;
  /** How many lines were invalid (`invalid` lists the first 20). */
  readonly invalidLines: number;
  /** Up to 20 differences: the id and the names of the fields that differ (no values). */
  readonly examples: Array<{ id: string; difference: 'missing' | 'extra' | 'differs'; fields?: string[] }>;
  /** The changes that make the store equal the copy from `asOfMs` on, as the feeds carry them. */
  readonly changes: Fields[];
}

/**
 * Compares a batch copy (JSON Lines, one record of the library per line, as a feed's upsert carries it
 * without `op` and `valid_from`) with the libraries as they stood at `asOfMs`, and says what differs:
 * records the store lacks, records the copy lacks, and records whose compared fields differ. The changes
 * it returns are sent through the feed (source `batch`), so the one applier writes them like any other.
 */
export function compareCopy(
  library: BaseFeed,
  text: string,
  file: string,
  asOfMs: number,
  store: ReadonlyMap<string, Fields>,
): Reconciliation {
  const batchId = `${basename(file)}@sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
  const version = { valid_from: asOfMs, source: 'batch', batch_id: batchId };
  const copy = new Map<string, Fields>();
  const listedBadly = new Set<string>();
  const invalid: Reconciliation['invalid'] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      invalid.push({ line: i + 1, problem: 'not JSON' });
      return;
    }
    const checked = BASE_FEEDS[library].schema.safeParse({ ...(parsed as object), op: 'upsert', ...version });
    if (!checked.success) {
      const issue = checked.error.issues[0];
      invalid.push({ line: i + 1, problem: `${issue?.path.join('.') || 'record'}: ${issue?.message}` });
      // A record the copy lists, though badly, is not one it lacks: never deleted for that.
      const id = (parsed as { id?: unknown } | null)?.id;
      if (typeof id === 'string') listedBadly.add(id);
    } else if (copy.has(checked.data.id))
      invalid.push({ line: i + 1, problem: `id ${checked.data.id} again` });
    else copy.set(checked.data.id, checked.data as Fields);
  });
  const changes: Fields[] = [];
  const examples: Reconciliation['examples'] = [];
  const counts = { missing: 0, extra: 0, differs: 0 };
  const note = (id: string, difference: 'missing' | 'extra' | 'differs', fields?: string[]) => {
    counts[difference] += 1;
    if (examples.length < 20) examples.push(fields ? { id, difference, fields } : { id, difference });
  };
  for (const [id, record] of copy) {
    const stored = store.get(id);
    const fields = COMPARED[library].filter((f) => (record[f] ?? '') !== (stored?.[f] ?? ''));
    if (stored !== undefined && fields.length === 0) continue;
    note(id, stored === undefined ? 'missing' : 'differs', stored === undefined ? undefined : fields);
    changes.push(record);
  }
  for (const id of store.keys())
    if (!copy.has(id) && !listedBadly.has(id)) {
      note(id, 'extra');
      changes.push({ op: 'delete', id, ...version });
    }
  return {
    library,
    asOfMs,
    batchId,
    copy: copy.size,
    store: store.size,
    ...counts,
    invalid: invalid.slice(0, 20),
    invalidLines: invalid.length,
    examples,
    changes,
  };
}

/** The library's records as they stood at `asOfMs` (latest version at or before it, tombstones left out). */
export async function storeState(
  client: ClickHouseClient,
  db: { city: string; restricted: string },
  library: BaseFeed,
  asOfMs: number,
): Promise<Map<string, Fields>> {
  const latest = async (sql: string) => {
    const rows = await selectCompact<[string, string, number, ...unknown[]]>(client, sql);
    const state = new Map<string, { at: number; deleted: number; row: unknown[] }>();
    for (const [id, at, deleted, ...row] of rows) {
      const seen = state.get(id);
      if (!seen || Number(at) > seen.at) state.set(id, { at: Number(at), deleted: Number(deleted), row });
    }
    return new Map([...state].filter(([, v]) => v.deleted === 0).map(([id, v]) => [id, v.row]));
  };
  const until = `valid_from_ms <= ${sqlNumber(asOfMs)}`;
  if (library === 'buildings') {
    const rows = await latest(
      `SELECT building_id, toString(valid_from_ms), deleted, lat, lon, use, floors FROM ${qualified(baseBuildings, db)} FINAL WHERE ${until}`,
    );
    return new Map([...rows].map(([id, [lat, lon, use, floors]]) => [id, { lat, lon, use, floors }]));
  }
  const members = await latest(
    `SELECT member_id, toString(valid_from_ms), deleted, building_id, attributes FROM ${qualified(baseMembership, db)} FINAL
      WHERE kind = ${sqlString(FEED_MEMBER[library])} AND ${until}`,
  );
  const state = new Map(
    [...members].map(([id, [building_id, attributes]]) => {
      const { birth_day: _, ...own } = JSON.parse(String(attributes)) as Fields;
      return [id, { building_id, ...own }] as [string, Fields];
    }),
  );
  if (library !== 'population') return state;
  const people = await latest(
    `SELECT person_id, toString(valid_from_ms), deleted, name, id_number, phone, birth_date FROM ${qualified(basePeople, db)} FINAL WHERE ${until}`,
  );
  for (const [id, fields] of state) {
    const [name, id_number, phone, birth_date] = people.get(id) ?? [];
    Object.assign(fields, { name, id_number, phone, birth_date });
  }
  return state;
}
