import type { MemberKind } from '../connectors/clickhouse/tables/base.ts';
import { MEMBERS } from './members.ts';

/** One version of a member: where it belongs from `valid_from_ms` (nowhere when deleted), and its columns. */
export interface MembershipVersion {
  readonly valid_from_ms: number;
  readonly deleted: 0 | 1;
  readonly building_id: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** Rows to write, each a full row of its table but for the columns every version row shares. */
export interface MemberRows {
  readonly member: Record<string, unknown>[];
  readonly membership: Record<string, unknown>[];
}

/**
 * The rows one change of a member adds, given the member's history (sorted by `valid_from_ms`, updated in
 * place so that the next change of the same batch sees it). Changes may arrive in any order of time:
 * - the member's row at its building from the change's time (unless it is a deletion);
 * - a tombstone at the building it leaves then: the previous version's, and the one a correction at the
 *   same instant replaces;
 * - if a later version is known, the change's building ends there (the later version's row stands).
 * Rows a change makes wrong are only ever earlier tombstones of buildings already left, so nothing is
 * retracted; written again (a replay), a change gives the same rows.
 */
export function planMemberChange(
  kind: MemberKind,
  memberId: string,
  history: MembershipVersion[],
  change: MembershipVersion,
): MemberRows {
  const t = change.valid_from_ms;
  let i = history.findIndex((v) => v.valid_from_ms >= t);
  if (i === -1) i = history.length;
  const replaced = history[i]?.valid_from_ms === t ? history[i] : undefined;
  history.splice(i, replaced ? 1 : 0, change);
  const previous = history[i - 1];
  const next = history[i + 1];
  const { idColumn } = MEMBERS[kind]!;
  const row = (v: MembershipVersion, at: number, deleted: 0 | 1) => ({
    ...v.attributes,
    building_id: v.building_id,
    [idColumn]: memberId,
    valid_from_ms: at,
    deleted,
  });
  const member: Record<string, unknown>[] = [];
  const live = (v: MembershipVersion | undefined): v is MembershipVersion =>
    v !== undefined && v.deleted === 0;
  if (live(change)) member.push(row(change, t, 0));
  for (const ended of [previous, replaced])
    if (live(ended) && (!live(change) || ended.building_id !== change.building_id))
      member.push(row(ended, t, 1));
  if (next !== undefined && live(change) && (!live(next) || next.building_id !== change.building_id))
    member.push(row(change, next.valid_from_ms, 1));
  return {
    member,
    membership: [
      {
        kind,
        member_id: memberId,
        valid_from_ms: t,
        deleted: change.deleted,
        building_id: change.building_id,
        attributes: JSON.stringify(change.attributes),
      },
    ],
  };
}
