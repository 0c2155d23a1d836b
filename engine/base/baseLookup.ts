import { type ClickHouseClient, selectCompact } from '../connectors/clickhouse/client.ts';
import { sqlString, sqlStringList } from '../connectors/clickhouse/sqlLiteral.ts';
import {
  baseBuildings,
  baseDwellings,
  baseLegalPersons,
  baseResidence,
} from '../connectors/clickhouse/tables/base.ts';
import { qualified } from '../connectors/clickhouse/tables/table.ts';
import { INDUSTRIES, type Industry } from '../contract/baseLibraries.ts';
import { type MembersAsOf, SENSITIVE_INDUSTRIES } from './baseImpact.ts';
import { BuildingLookup } from './buildingLookup.ts';
import { MemberColumns } from './memberColumns.ts';
import { WrittenSince } from './writtenSince.ts';

/** Buildings per ordered read of the first load: ClickHouse sorts one range at a time, not a whole table. */
const LOAD_CHUNK = 50_000;
const OTHER = INDUSTRIES.indexOf('other');

/**
 * The engine's in-memory copy of the base libraries (docs/base.md): the buildings by cell
 * (`BuildingLookup`) and every version of their dwellings, residents and legal persons by building
 * (`MemberColumns`). The join reads it instead of ClickHouse, which took 185 ms p50 for the ~55 k member
 * rows around an incident at full scale (bench:base).
 *
 * Before each join it asks ClickHouse whether any of the four tables has taken an insert since the last
 * look (their parts' highest block numbers, from `system.parts`: metadata, no scan). Only then does it read
 * forward by `written_at` (`WrittenSince`), re-reading each touched building's members whole.
 */
export class BaseLookup implements MembersAsOf {
  readonly buildings: BuildingLookup;
  readonly #db: { city: string; restricted: string };
  readonly #members: ReadonlyArray<{ columns: MemberColumns; table: string; since: WrittenSince }>;
  readonly dwellingColumns = new MemberColumns({ table: baseDwellings, id: 'dwelling_id' });
  readonly residentColumns = new MemberColumns({
    table: baseResidence,
    id: 'person_id',
    value: { column: 'birth_day', parse: Number },
  });
  readonly legalPersonColumns = new MemberColumns({
    table: baseLegalPersons,
    id: 'legal_person_id',
    value: { column: 'industry', parse: industryNumber },
    keepsId: (industry) => SENSITIVE_INDUSTRIES.has(INDUSTRIES[industry]!),
  });
  #blocks = '';
  #refreshing: Promise<void> | undefined;
  /** Counts the refreshes that read something; `#changedAt` holds, per building, the last that touched it. */
  #generation = 0;
  #changedAt = new Uint32Array(1024);

  constructor(db: { city: string; restricted: string }) {
    this.#db = db;
    this.buildings = new BuildingLookup(db, (b) => this.#touch(b));
    this.#members = [this.dwellingColumns, this.residentColumns, this.legalPersonColumns].map((columns) => {
      const table = qualified(columns.kind.table, db);
      return { columns, table, since: new WrittenSince(table) };
    });
  }

  /** Reads what was written since the last refresh (everything the first time). */
  refresh(client: ClickHouseClient): Promise<void> {
    // Calls at once share one read: the second would read the same rows again.
    this.#refreshing ??= this.#read(client).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #read(client: ClickHouseClient): Promise<void> {
    const blocks = await this.#insertsSeen(client);
    if (blocks === this.#blocks) return;
    this.#generation++;
    await this.buildings.refresh(client);
    // Settled, not all: a failed read must not leave another still filling its columns while the next
    // refresh starts a second read of the same columns.
    const reads = await Promise.allSettled(this.#members.map((m) => this.#readMembers(client, m)));
    for (const read of reads) if (read.status === 'rejected') throw read.reason;
    this.#blocks = blocks;
  }

  /** The highest block number of each table's active parts: it moves with every insert, not with merges. */
  async #insertsSeen(client: ClickHouseClient): Promise<string> {
    const tables = [baseBuildings, baseDwellings, baseResidence, baseLegalPersons];
    const rows = await selectCompact<[string, string, string]>(
      client,
      `SELECT database, table, toString(max(max_block_number)) FROM system.parts
        WHERE active AND database IN ${sqlStringList([this.#db.city, this.#db.restricted])}
          AND table IN ${sqlStringList(tables.map((t) => t.name))}
        GROUP BY database, table ORDER BY database, table`,
    );
    return rows.map((r) => r.join('.')).join(' ');
  }

  async #readMembers(
    client: ClickHouseClient,
    m: { columns: MemberColumns; table: string; since: WrittenSince },
  ): Promise<void> {
    const pending = await m.since.pending(client);
    if (pending === undefined) return;
    const numberOf = (id: string) => this.buildings.numberOf(id);
    const changed = (b: number) => void this.#touch(b);
    if (pending.first) {
      const [count] = await selectCompact<[string]>(client, `SELECT toString(count()) FROM ${m.table}`);
      const rows = Number(count?.[0] ?? 0);
      m.columns.reserve(rows + (rows >> 4));
      for (const range of buildingRanges(this.buildings.idList(), LOAD_CHUNK))
        await m.columns.read(client, m.table, range, numberOf, changed);
    } else {
      // Every row of each building touched: a building's range is replaced whole.
      const touched = `building_id IN (SELECT building_id FROM ${m.table} WHERE ${pending.where})`;
      await m.columns.read(client, m.table, touched, numberOf, changed);
    }
    pending.done();
  }

  /** The current generation: a refresh that reads anything moves it on. */
  get generation(): number {
    return this.#generation;
  }

  /** Whether any building that ever stood in `cells` was touched by a refresh after `generation`. */
  changedSince(cells: Iterable<string>, generation: number): boolean {
    for (const cell of cells)
      for (const b of this.buildings.numbersInCell(cell)) if (this.#changedAt[b]! > generation) return true;
    return false;
  }

  #touch(b: number): number {
    if (b >= this.#changedAt.length) {
      const bigger = new Uint32Array(Math.max(b + 1, this.#changedAt.length * 2));
      bigger.set(this.#changedAt);
      this.#changedAt = bigger;
    }
    this.#changedAt[b] = this.#generation;
    return b;
  }

  dwellings(buildingId: string, atMs: number): number {
    let n = 0;
    this.dwellingColumns.asOf(this.#number(buildingId), atMs, () => {
      n++;
    });
    return n;
  }

  residents(buildingId: string, atMs: number, visit: (birthDay: number) => void): void {
    const columns = this.residentColumns;
    columns.asOf(this.#number(buildingId), atMs, (row) => visit(columns.value(row)));
  }

  legalPersons(
    buildingId: string,
    atMs: number,
    visit: (industry: Industry, legalPersonId: string | undefined) => void,
  ): void {
    const columns = this.legalPersonColumns;
    columns.asOf(this.#number(buildingId), atMs, (row) =>
      visit(INDUSTRIES[columns.value(row)]!, columns.id(row)),
    );
  }

  #number(buildingId: string): number {
    return this.buildings.knownNumber(buildingId) ?? Number.MAX_SAFE_INTEGER;
  }
}

function industryNumber(text: string): number {
  const i = (INDUSTRIES as readonly string[]).indexOf(text);
  return i < 0 ? OTHER : i;
}

/** WHERE clauses that split the building ids into ordered ranges of about `size` known buildings each. */
export function buildingRanges(ids: readonly string[], size: number): string[] {
  const sorted = [...ids].sort();
  const bounds: string[] = [];
  for (let i = size; i < sorted.length; i += size) bounds.push(sorted[i]!);
  const ranges: string[] = [];
  for (let i = 0; i <= bounds.length; i++) {
    const low = i > 0 ? `building_id >= ${sqlString(bounds[i - 1]!)}` : '';
    const high = i < bounds.length ? `building_id < ${sqlString(bounds[i]!)}` : '';
    ranges.push([low, high].filter((c) => c !== '').join(' AND ') || '1');
  }
  return ranges;
}
