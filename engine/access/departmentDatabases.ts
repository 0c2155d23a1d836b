import type { ResourceClass } from '../catalogue/catalogueSchema.ts';
import { project } from '../catalogue/projection.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlNumber, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import * as atomic from '../connectors/clickhouse/tables/atomic.ts';
import * as base from '../connectors/clickhouse/tables/base.ts';
import * as joined from '../connectors/clickhouse/tables/joined.ts';
import * as layers from '../connectors/clickhouse/tables/layers.ts';
import type { TableDefinition } from '../connectors/clickhouse/tables/table.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { ExchangeLedger } from './exchangeLedger.ts';
import type { AccessPolicy } from './exits.ts';

/** The analysts' tables the engine writes, by name: the ones a class of the catalogue can stand for. */
const CITY_TABLES = new Map<string, TableDefinition>(
  [atomic, layers, joined, base]
    .flatMap((m) => Object.values(m))
    .filter((v): v is TableDefinition => typeof v === 'object' && v !== null && 'columns' in v)
    .filter((t) => t.database === 'city')
    .map((t) => [t.name, t]),
);

/** The column each table's writer stamps with its wall clock: what a copy reads forward by. */
const WRITTEN_AT = ['ingested_at', 'emitted_at', 'computed_at', 'written_at'];

/** The database a department's analysts read: `city_dept_<department>`. */
export function departmentDatabase(department: string): string {
  return `city_dept_${department.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * Refuses a catalogue in which two departments would share a database (and a user): `public-security` and
 * `public_security` are both `city_dept_public_security`.
 */
export function checkDepartmentNames(departments: ReadonlyArray<{ id: string }>): void {
  const seen = new Map<string, string>();
  for (const { id } of departments) {
    const name = departmentDatabase(id);
    const other = seen.get(name);
    if (other !== undefined)
      throw new CityOpsError('CONFIG_INVALID', `departments '${other}' and '${id}' would share ${name}`, {
        hint: 'rename one of them in the catalogue: ids that differ only in -, . or _ cannot have databases',
      });
    seen.set(name, id);
  }
}

/** One table of a department's database: which columns of which city table it holds. */
export interface TablePlan {
  readonly resource: ResourceClass;
  readonly table: TableDefinition;
  /** `name Type`, in the table's order. */
  readonly columns: readonly string[];
  readonly writtenAt: string;
}

/**
 * What a department's database holds at `now`: for each class backed by a city table, the columns the
 * projection lets out. A table whose key (or version) uses a column the department does not receive is
 * left out, with the reason: without its key a copy could not be kept free of repeats.
 */
export function departmentPlan(
  policy: AccessPolicy,
  department: string,
  now = Date.now(),
): { tables: TablePlan[]; skipped: string[] } {
  const tables: TablePlan[] = [];
  const skipped: string[] = [];
  for (const resource of policy.catalogue.resources) {
    const table = CITY_TABLES.get(resource.source.replace(/^table city\./, ''));
    if (!resource.source.startsWith('table city.') || table === undefined) continue;
    const items = new Set(
      project(policy.catalogue, policy.grants(), department, resource.id, now).items.map((i) => i.id),
    );
    if (items.size === 0) continue;
    const columns = table.columns.filter((c) => items.has(c.slice(0, c.indexOf(' '))));
    const names = table.columns.map((c) => c.slice(0, c.indexOf(' ')));
    const keyUses = names.filter((n) => new RegExp(`\\b${n}\\b`).test(table.engine));
    const missing = keyUses.filter((n) => !items.has(n));
    const writtenAt = WRITTEN_AT.find((n) => names.includes(n));
    if (missing.length > 0) skipped.push(`${resource.id}: its key needs ${missing.join(', ')}`);
    else if (writtenAt !== undefined) tables.push({ resource, table, columns, writtenAt });
  }
  return { tables, skipped };
}

export interface DepartmentDatabasesOptions {
  /** The city database the copies are read from (default `city`). */
  source?: string;
  /**
   * Each copy reads again this far behind the last one (ms, default 5 min), for rows that land after
   * their write time (an engine retrying an insert). Every row read again is a repeat until the copy's
   * merges collapse it, so the overlap is short; a process start copies each table whole again.
   */
  overlapMs?: number;
  /** The database of a department (default `departmentDatabase`). */
  databaseOf?: (department: string) => string;
  ledger?: Pick<ExchangeLedger, 'record'>;
  logger?: Logger;
}

/**
 * Fills each department's own database with exactly what it may see: for every table of its plan, the
 * columns it receives, copied forward by the table's write time (with an overlap; the copy is a
 * ReplacingMergeTree with the source's key, so rows read twice collapse). A table the plan no longer
 * holds (a grant revoked or expired), or holds with other columns, is dropped, then built again from the
 * start if it is still granted. Every copy is a row of the exchange ledger.
 */
export class DepartmentDatabases {
  readonly #copiedUntil = new Map<string, number>();

  constructor(
    private readonly client: ClickHouseClient,
    private readonly policy: AccessPolicy,
    private readonly options: DepartmentDatabasesOptions = {},
  ) {}

  /**
   * One pass over every department of the catalogue; a department whose sync fails is logged and left
   * for the next pass. Returns each department's tables.
   */
  async syncAll(now = Date.now()): Promise<Map<string, string[]>> {
    checkDepartmentNames(this.policy.catalogue.departments);
    const held = new Map<string, string[]>();
    for (const department of this.policy.catalogue.departments) {
      try {
        held.set(department.id, await this.sync(department.id, now));
      } catch (error) {
        this.options.logger?.error({ err: error, department: department.id }, 'cannot sync its database now');
      }
    }
    return held;
  }

  /** One department's database brought to its plan at `now`; returns the tables it holds. */
  async sync(department: string, now = Date.now()): Promise<string[]> {
    const database = sqlIdentifier((this.options.databaseOf ?? departmentDatabase)(department));
    const { tables, skipped } = departmentPlan(this.policy, department, now);
    if (skipped.length > 0) this.options.logger?.debug({ department, skipped }, 'tables left out');
    await this.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    const existing = await this.#columnsOf(database);
    for (const [name, columns] of existing) {
      const plan = tables.find((t) => t.table.name === name);
      if (plan !== undefined && columns === plan.columns.join(', ')) continue;
      await this.client.command({ query: `DROP TABLE IF EXISTS ${database}.${sqlIdentifier(name)}` });
      this.#copiedUntil.delete(`${database}.${name}`);
    }
    const held: string[] = [];
    for (const plan of tables) {
      // One table that cannot be copied (its source not there yet, ClickHouse busy) does not stop the rest.
      try {
        if (await this.#copy(database, department, plan, now)) held.push(plan.table.name);
      } catch (error) {
        this.options.logger?.error(
          { err: error, department, table: plan.table.name },
          'cannot copy a table now',
        );
      }
    }
    return held;
  }

  /** Copies one table forward; false when its source table does not exist (not migrated yet). */
  async #copy(database: string, department: string, plan: TablePlan, now: number): Promise<boolean> {
    const target = `${database}.${plan.table.name}`;
    const source = `${sqlIdentifier(this.options.source ?? 'city')}.${plan.table.name}`;
    const [exists] = await selectRows<{ result: number | string }>(this.client, `EXISTS TABLE ${source}`);
    if (Number(exists?.result) !== 1) return false;
    await this.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${target} (${plan.columns.join(', ')}) ENGINE = ${plan.table.engine}`,
    });
    const names = plan.columns.map((c) => c.slice(0, c.indexOf(' '))).join(', ');
    const since = this.#copiedUntil.get(target);
    const from = since === undefined ? 0 : Math.max(0, since - (this.options.overlapMs ?? 300_000));
    const until = Math.floor(now / 1000);
    const range = `${plan.writtenAt} >= toDateTime(${sqlNumber(Math.floor(from / 1000))}) AND ${plan.writtenAt} < toDateTime(${sqlNumber(until)})`;
    const [counted] = await selectRows<{ n: string }>(
      this.client,
      `SELECT count() AS n FROM ${source} WHERE ${plan.writtenAt} >= toDateTime(${sqlNumber(Math.floor((since ?? 0) / 1000))}) AND ${plan.writtenAt} < toDateTime(${sqlNumber(until)})`,
    );
    await this.client.command({
      query: `INSERT INTO ${target} (${names}) SELECT ${names} FROM ${source} WHERE ${range}`,
    });
    this.#copiedUntil.set(target, until * 1000);
    const records = Number(counted?.n ?? 0);
    if (records > 0)
      this.options.ledger?.record({
        consumer: department,
        provider: plan.resource.provider,
        resource: plan.resource.id,
        exit: 'database',
        items: plan.columns.map((c) => c.slice(0, c.indexOf(' '))),
        records,
        bytes: 0,
        event_ms: 0,
        ingest_ms: 0,
        delivered_from_ms: since ?? 0,
        delivered_to_ms: until * 1000,
        succeeded: true,
        fault_code: '',
      });
    return true;
  }

  /** The tables of a database, each with its columns as `name Type, ...`. */
  async #columnsOf(database: string): Promise<Map<string, string>> {
    const rows = await selectRows<{ table: string; columns: string }>(
      this.client,
      // system.columns lists a table's columns in their order (18.16 has no `position` to sort by).
      `SELECT table, arrayStringConcat(groupArray(concat(name, ' ', type)), ', ') AS columns
       FROM system.columns WHERE database = ${sqlString(database)} GROUP BY table`,
    );
    return new Map(rows.map((r) => [r.table, r.columns]));
  }
}
