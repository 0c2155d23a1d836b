import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { tsvField } from '../connectors/clickhouse/sqlLiteral.ts';
import {
  baseBuildings,
  baseDwellings,
  baseLegalPersons,
  baseMembership,
  basePeople,
  baseResidence,
  type MemberKind,
} from '../connectors/clickhouse/tables/base.ts';
import { columnNames, qualified, type TableDefinition } from '../connectors/clickhouse/tables/table.ts';
import type { BaseSource } from '../contract/baseLibraries.ts';
import { MIN_EVENT_TIME } from '../contract/exchangeRecords.ts';
import type { BaseSink, BuildingRow, DwellingRow, LegalPersonRow, PersonRow } from './generateBase.ts';
import { membershipRow } from './members.ts';

/** The generator's versions are valid from the start of the event times the exchange accepts. */
export const GENERATED_VALID_FROM = MIN_EVENT_TIME;

/** A version's own columns: from when, a tombstone or not, and where it came from. */
export interface Version {
  readonly valid_from_ms: number;
  readonly deleted: 0 | 1;
  readonly source: BaseSource;
  readonly provenance: string;
}

/**
 * Writes versions of the base libraries to ClickHouse as TabSeparated rows, each table's columns in its
 * definition's order. A person is two rows: personal data to `base_people` and the registration to
 * `base_residence`, both in the restricted database.
 */
export class BaseWriter implements BaseSink {
  readonly #sink: ClickHouseSink;
  readonly #db: { city: string; restricted: string };
  readonly #version: Version;

  constructor(client: ClickHouseClient, db: { city: string; restricted: string }, version?: Version) {
    this.#sink = new ClickHouseSink(client);
    this.#db = db;
    this.#version = version ?? {
      valid_from_ms: GENERATED_VALID_FROM,
      deleted: 0,
      source: 'generator',
      provenance: '',
    };
  }

  async buildings(rows: BuildingRow[]): Promise<void> {
    await this.write(baseBuildings, rows);
  }

  async dwellings(rows: DwellingRow[]): Promise<void> {
    await Promise.all([this.write(baseDwellings, rows), this.#memberships('dwelling', rows)]);
  }

  async legalPersons(rows: LegalPersonRow[]): Promise<void> {
    await Promise.all([this.write(baseLegalPersons, rows), this.#memberships('legal_person', rows)]);
  }

  async people(rows: PersonRow[]): Promise<void> {
    await Promise.all([
      this.write(basePeople, rows),
      this.write(baseResidence, rows),
      this.#memberships('resident', rows),
    ]);
  }

  async #memberships(kind: MemberKind, rows: readonly object[]): Promise<void> {
    await this.write(
      baseMembership,
      rows.map((row) => membershipRow(kind, row as Record<string, unknown>)),
    );
  }

  /** Writes rows to a table, each with this writer's version unless the row carries its own. */
  async write(table: TableDefinition, rows: ReadonlyArray<object>): Promise<number> {
    const columns = columnNames(table);
    let text = '';
    const written_at = Math.floor(Date.now() / 1000);
    for (const row of rows)
      text += tsvLine(columns, { ...this.#version, written_at, ...row } as Record<string, unknown>);
    return this.#sink.insertTsv(qualified(table, this.#db), columns, [text]);
  }
}

function tsvLine(columns: readonly string[], row: Record<string, unknown>): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    const value = row[columns[i]!];
    if (value === undefined) throw new Error(`base row without column ${columns[i]}`);
    line += (i === 0 ? '' : '\t') + (typeof value === 'string' ? tsvField(value) : String(value));
  }
  return `${line}\n`;
}
