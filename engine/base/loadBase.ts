import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { selectRows } from '../connectors/clickhouse/client.ts';
import { sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import {
  BASE_LIBRARY_TABLES,
  incidentBaseImpact,
  incidentBaseImpactExact,
} from '../connectors/clickhouse/tables/base.ts';
import { qualified } from '../connectors/clickhouse/tables/table.ts';
import { CityOpsError } from '../errors.ts';
import { BaseWriter, GENERATED_VALID_FROM } from './baseWriter.ts';
import { type BaseGeneration, type BaseSink, type FULL_SCALE, generateBase } from './generateBase.ts';

export interface BaseLoadReport {
  readonly counts: typeof FULL_SCALE;
  readonly seconds: number;
  /** Bytes on disk per table, after the load (active parts). */
  readonly bytesOnDisk: Record<string, number>;
  readonly peakRssBytes: number;
}

/** Rows in the base tables now (FINAL-free: a count of stored versions). */
export async function storedVersions(
  client: ClickHouseClient,
  db: { city: string; restricted: string },
): Promise<number> {
  let total = 0;
  for (const table of BASE_LIBRARY_TABLES) {
    const [row] = await selectRows<{ n: string }>(
      client,
      `SELECT toString(count()) AS n FROM ${qualified(table, db)}`,
    );
    total += Number(row?.n ?? 0);
  }
  return total;
}

/**
 * Generates the base libraries into ClickHouse. Refuses when the tables hold versions already, unless
 * `replace` (which empties them first): two generations would mix two cities.
 */
export async function loadBase(
  client: ClickHouseClient,
  db: { city: string; restricted: string },
  options: BaseGeneration & { readonly replace?: boolean; readonly tee?: BaseSink },
): Promise<BaseLoadReport> {
  const stored = await storedVersions(client, db);
  if (stored > 0 && !options.replace)
    throw new CityOpsError('CLI_USAGE', `the base libraries already hold ${stored} version(s)`, {
      hint: 'pass --replace to empty them and generate again',
    });
  // The impacts joined to the old libraries go with them.
  if (options.replace)
    for (const table of [...BASE_LIBRARY_TABLES, incidentBaseImpact, incidentBaseImpactExact])
      await client.command({ query: `TRUNCATE TABLE ${qualified(table, db)}` });
  const started = performance.now();
  const provenance = `city-ops base generate --scale ${options.scale} --seed ${options.seed}`;
  const writer = new BaseWriter(client, db, {
    valid_from_ms: GENERATED_VALID_FROM,
    deleted: 0,
    source: 'generator',
    provenance,
  });
  const sink: BaseSink = options.tee ? teeSink(writer, options.tee) : writer;
  const counts = await generateBase(options, sink);
  const seconds = (performance.now() - started) / 1000;
  const bytesOnDisk: Record<string, number> = {};
  for (const table of BASE_LIBRARY_TABLES) {
    const [row] = await selectRows<{ bytes: string }>(
      client,
      `SELECT toString(sum(bytes_on_disk)) AS bytes FROM system.parts
        WHERE active AND database = ${sqlString(db[table.database])} AND table = ${sqlString(table.name)}`,
    );
    bytesOnDisk[table.name] = Number(row?.bytes ?? 0);
  }
  return { counts, seconds, bytesOnDisk, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function teeSink(a: BaseSink, b: BaseSink): BaseSink {
  return {
    buildings: async (rows) => void (await Promise.all([a.buildings(rows), b.buildings(rows)])),
    dwellings: async (rows) => void (await Promise.all([a.dwellings(rows), b.dwellings(rows)])),
    legalPersons: async (rows) => void (await Promise.all([a.legalPersons(rows), b.legalPersons(rows)])),
    people: async (rows) => void (await Promise.all([a.people(rows), b.people(rows)])),
  };
}
