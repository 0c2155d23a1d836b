import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Environment } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import type { ClickHouseClient } from './client.ts';
import { sqlIdentifier, sqlNumber, sqlString } from './sqlLiteral.ts';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** A versioned schema change: `NNNN_snake_name.ts` exporting `statements(db)`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (db: { city: string; restricted: string }) => string[];
}

/** The migrations in engine/connectors/clickhouse/migrations/, in version order. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.ts$/.test(f))
    .sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Partial<Migration>;
    if (typeof module.statements !== 'function') {
      throw new CityOpsError('MIGRATION_FAILED', `migration ${file} does not export statements(db)`);
    }
    migrations.push({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.ts$/, ''),
      statements: module.statements,
    });
  }
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) {
    throw new CityOpsError(
      'MIGRATION_FAILED',
      `two migrations share a version number: ${versions.join(', ')}`,
    );
  }
  return migrations;
}

/**
 * Applies the migrations not applied yet to the databases of `env` (creating them if needed) and records
 * each in `<city>.schema_migrations`. Statements are idempotent, so two processes migrating at once
 * converge. Returns the names applied.
 */
export async function migrate(
  client: ClickHouseClient,
  env: Pick<Environment, 'CLICKHOUSE_DATABASE' | 'CLICKHOUSE_RESTRICTED_DATABASE'>,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const db = {
    city: sqlIdentifier(env.CLICKHOUSE_DATABASE),
    restricted: sqlIdentifier(env.CLICKHOUSE_RESTRICTED_DATABASE),
  };
  await run(client, `CREATE DATABASE IF NOT EXISTS ${db.city}`, 'bootstrap');
  await run(client, `CREATE DATABASE IF NOT EXISTS ${db.restricted}`, 'bootstrap');
  await run(
    client,
    `CREATE TABLE IF NOT EXISTS ${db.city}.schema_migrations (version UInt32, name String, applied_at DateTime)
     ENGINE = ReplacingMergeTree ORDER BY version`,
    'bootstrap',
  );
  const applied = new Set(
    (
      await (
        await client.query({
          query: `SELECT version FROM ${db.city}.schema_migrations`,
          format: 'JSONEachRow',
        })
      ).json<{ version: number }>()
    ).map((row) => Number(row.version)),
  );
  const done: string[] = [];
  for (const migration of await loadMigrations()) {
    if (applied.has(migration.version)) continue;
    log(`migrate: applying ${migration.name}`);
    for (const statement of migration.statements(db)) await run(client, statement, migration.name);
    await client.command({
      query: `INSERT INTO ${db.city}.schema_migrations VALUES (${sqlNumber(migration.version)}, ${sqlString(migration.name)}, now())`,
    });
    done.push(migration.name);
  }
  return done;
}

async function run(client: ClickHouseClient, statement: string, migration: string): Promise<void> {
  try {
    await client.command({ query: statement });
  } catch (cause) {
    const first = statement.trim().split('\n')[0];
    throw new CityOpsError('MIGRATION_FAILED', `${migration}: ${(cause as Error).message} in: ${first}`, {
      cause,
      hint: 'check that CLICKHOUSE_URL points at ClickHouse 18.16 or newer and that the user may create tables',
    });
  }
}
