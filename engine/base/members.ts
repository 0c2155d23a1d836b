import {
  baseDwellings,
  baseLegalPersons,
  baseResidence,
  type MemberKind,
} from '../connectors/clickhouse/tables/base.ts';
import type { TableDefinition } from '../connectors/clickhouse/tables/table.ts';

/**
 * The members of a building, one entry per kind: the table of its rows by building, the column of its id,
 * and its own columns (kept as JSON in `base_membership`, to write its row again at a building).
 */
export const MEMBERS: Readonly<
  Record<MemberKind, { table: TableDefinition; idColumn: string; attributes: readonly string[] }>
> = {
  dwelling: { table: baseDwellings, idColumn: 'dwelling_id', attributes: ['floor_area_m2', 'rooms'] },
  resident: { table: baseResidence, idColumn: 'person_id', attributes: ['dwelling_id', 'birth_day'] },
  legal_person: {
    table: baseLegalPersons,
    idColumn: 'legal_person_id',
    attributes: ['industry', 'employees'],
  },
};

/** A member's row's own columns, as `base_membership.attributes` keeps them. */
export function memberAttributes(kind: MemberKind, row: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(MEMBERS[kind]!.attributes.map((a) => [a, row[a]])));
}

/** The membership row of a member's row (same version columns). */
export function membershipRow(kind: MemberKind, row: Record<string, unknown>): Record<string, unknown> {
  return {
    kind,
    member_id: row[MEMBERS[kind]!.idColumn],
    building_id: row['building_id'],
    attributes: memberAttributes(kind, row),
  };
}
