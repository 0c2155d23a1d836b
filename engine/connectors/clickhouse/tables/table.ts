/**
 * One definition per table: its columns (name and ClickHouse type, in the order every writer sends them)
 * and its engine clause. The migrations create tables from these definitions, and the writers name the
 * columns from them; each table's row encoder stands beside its definition, so adding a column is one
 * edit in one file.
 */
export interface TableDefinition {
  readonly name: string;
  /** `city` is the analysts' database; `restricted` holds personal data. */
  readonly database: 'city' | 'restricted';
  /** `name Type`, in insert order. */
  readonly columns: readonly string[];
  /** What follows `ENGINE =`. */
  readonly engine: string;
}

/** Where each row came from: every table fed from Kafka ends with these. */
export const SOURCE_COLUMNS = [
  'source_partition UInt16',
  'source_offset UInt64',
  'ingested_at DateTime',
] as const;

/** The column names of a table, in insert order. */
export function columnNames(table: TableDefinition): string[] {
  return table.columns.map((c) => c.slice(0, c.indexOf(' ')));
}

/** `db.table` for the databases of a deployment. */
export function qualified(table: TableDefinition, db: { city: string; restricted: string }): string {
  return `${db[table.database]}.${table.name}`;
}

/** The idempotent CREATE TABLE statement (ClickHouse 18.16 and current releases). */
export function createTable(table: TableDefinition, db: { city: string; restricted: string }): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(table, db)} (\n      ${table.columns.join(', ')}\n    ) ENGINE = ${table.engine}`;
}
