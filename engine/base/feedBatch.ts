import {
  baseBuildings,
  baseMembership,
  basePeople,
  type MemberKind,
} from '../connectors/clickhouse/tables/base.ts';
import type { DeadLetter } from '../connectors/clickhouse/tables/layers.ts';
import type { TableDefinition } from '../connectors/clickhouse/tables/table.ts';
import type { AnyBaseChange, BaseFeed } from '../contract/baseChanges.ts';
import { MAX_RECORD_BYTES } from '../contract/exchangeRecords.ts';
import { maskFreeText, maskPayload } from '../privacy/mask.ts';
import { type MembershipVersion, planMemberChange } from './changePlan.ts';
import { decodeBaseChange } from './decodeChange.ts';
import { MEMBERS } from './members.ts';

/** The kind of member each feed but the buildings' carries. */
export const FEED_MEMBER: Readonly<Record<Exclude<BaseFeed, 'buildings'>, MemberKind>> = {
  dwellings: 'dwelling',
  legal_persons: 'legal_person',
  population: 'resident',
};

export interface FeedMessage {
  readonly offset: number;
  readonly value: Buffer | null;
  readonly key: Buffer | null;
  readonly timestamp: number;
}

/** What one batch of one feed's partition writes. */
export interface PlannedBatch {
  readonly rows: Map<TableDefinition, Record<string, unknown>[]>;
  readonly deadLetters: DeadLetter[];
  readonly applied: number;
}

/**
 * Plans a batch of one feed's partition: decodes each message (dead letters for what fails), and turns
 * each change into version rows in offset order, a member's later change seeing its earlier ones. Every
 * row carries its version columns: valid from the change's time, its source (`feed`, `grid` or `batch`) and
 * its provenance (`topic:partition:offset`, after `grid:<staff id>` or `batch:<batch id>`).
 */
export function planFeedBatch(
  feed: BaseFeed,
  topic: string,
  partition: number,
  messages: readonly FeedMessage[],
  histories: ReadonlyMap<string, MembershipVersion[]>,
): PlannedBatch {
  const rows = new Map<TableDefinition, Record<string, unknown>[]>();
  const add = (table: TableDefinition, list: Record<string, unknown>[]) => {
    const existing = rows.get(table);
    if (existing) existing.push(...list);
    else rows.set(table, [...list]);
  };
  const deadLetters: DeadLetter[] = [];
  let applied = 0;
  for (const m of messages) {
    const decoded = decodeBaseChange(feed, m.value);
    if (!decoded.ok) {
      deadLetters.push(deadLetterOf(m, decoded.reason, decoded.detail));
      continue;
    }
    try {
      for (const [table, list] of planChange(feed, topic, partition, m, decoded, histories)) add(table, list);
      applied += 1;
    } catch (error) {
      // A defect of ours with this record: kept with the record, not stopping the feed.
      deadLetters.push(deadLetterOf(m, 'enrichment_failed', (error as Error).message.slice(0, 300)));
    }
  }
  return { rows, deadLetters, applied };
}

/** The rows of one decoded change, by table. */
function planChange(
  feed: BaseFeed,
  topic: string,
  partition: number,
  m: FeedMessage,
  decoded: Extract<ReturnType<typeof decodeBaseChange>, { ok: true }>,
  histories: ReadonlyMap<string, MembershipVersion[]>,
): Array<[TableDefinition, Record<string, unknown>[]]> {
  const { change, validFromMs } = decoded;
  const by =
    change.source === 'grid'
      ? `grid:${change.staff_id} `
      : change.source === 'batch'
        ? `batch:${change.batch_id} `
        : '';
  const version = {
    valid_from_ms: validFromMs,
    deleted: change.op === 'delete' ? 1 : 0,
    source: change.source,
    provenance: `${by}${topic}:${partition}:${m.offset}`,
  };
  // Planned rows keep their own time and deletion (a tombstone may end a version at another time).
  const stamp = (list: Record<string, unknown>[]) =>
    list.map((row) => ({ ...row, ...version, valid_from_ms: row['valid_from_ms'], deleted: row['deleted'] }));
  if (feed === 'buildings') return [[baseBuildings, [buildingRow(change, decoded, version)]]];
  const kind = FEED_MEMBER[feed];
  let history = histories.get(change.id);
  if (history === undefined) {
    history = [];
    (histories as Map<string, MembershipVersion[]>).set(change.id, history);
  }
  const planned = planMemberChange(kind, change.id, history, membershipOf(kind, change, validFromMs));
  const rows: Array<[TableDefinition, Record<string, unknown>[]]> = [
    [MEMBERS[kind]!.table, stamp(planned.member)],
    [baseMembership, stamp(planned.membership)],
  ];
  if (feed === 'population') rows.push([basePeople, [personRow(change, version)]]);
  return rows;
}

function membershipOf(kind: MemberKind, change: AnyBaseChange, validFromMs: number): MembershipVersion {
  if (change.op === 'delete')
    return { valid_from_ms: validFromMs, deleted: 1, building_id: '', attributes: {} };
  const fields = change as Record<string, unknown>;
  const attributes = Object.fromEntries(
    MEMBERS[kind]!.attributes.map((a) => [
      a,
      a === 'birth_day' ? birthDay(String(fields['birth_date'])) : fields[a],
    ]),
  );
  return { valid_from_ms: validFromMs, deleted: 0, building_id: String(fields['building_id']), attributes };
}

function buildingRow(
  change: AnyBaseChange,
  decoded: { district?: string; cell?: string },
  version: Record<string, unknown>,
): Record<string, unknown> {
  const upsert = change.op === 'upsert' ? (change as Extract<AnyBaseChange, { lat: number }>) : undefined;
  return {
    building_id: change.id,
    ...version,
    district: decoded.district ?? '',
    cell: decoded.cell ?? '',
    lat: upsert?.lat ?? 0,
    lon: upsert?.lon ?? 0,
    use: upsert?.use ?? '',
    floors: upsert?.floors ?? 0,
  };
}

function personRow(change: AnyBaseChange, version: Record<string, unknown>): Record<string, unknown> {
  const p = change.op === 'upsert' ? (change as Extract<AnyBaseChange, { id_number: string }>) : undefined;
  return {
    person_id: change.id,
    ...version,
    name: p?.name ?? '',
    id_number: p?.id_number ?? '',
    phone: p?.phone ?? '',
    birth_date: p?.birth_date ?? '',
  };
}

/** Days since 1970-01-01 of a YYYY-MM-DD date (negative before). */
export function birthDay(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
}

function deadLetterOf(m: FeedMessage, reason: string, detail: string): DeadLetter {
  const raw = m.value === null ? '' : m.value.subarray(0, MAX_RECORD_BYTES).toString('utf8');
  return {
    offset: m.offset,
    reason,
    detail,
    key: m.key === null ? '' : maskFreeText(m.key.toString('utf8')),
    messageTs: m.timestamp,
    bytes: m.value?.length ?? 0,
    payload: maskPayload(raw, 2000),
    rawPayload: raw,
  };
}
