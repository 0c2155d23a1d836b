import { createHash, randomBytes } from 'node:crypto';
import { ExchangeLedger } from '../engine/access/exchangeLedger.ts';
import type { MapAccess } from '../engine/access/mapAccess.ts';
import { type MapLedger, mapLedger } from '../engine/access/mapLedger.ts';
import { loadCatalogue } from '../engine/catalogue/loadCatalogue.ts';
import type { Environment } from '../engine/config/environment.ts';
import { createClickHouse } from '../engine/connectors/clickhouse/client.ts';
import { exchangeLedger } from '../engine/connectors/clickhouse/tables/exchange.ts';
import { createTable } from '../engine/connectors/clickhouse/tables/table.ts';

/**
 * bench:fanout with governance (FANOUT_GOVERNANCE=1): 60 departments, each client one of them by its own
 * token, judged by the catalogue (the city's, with departments added up to 60) and recorded in an
 * exchange ledger of the bench's own database (`bench_fanout`), as `city-ops serve` does.
 */
export const GOVERNANCE_DEPARTMENTS = 60;
const BENCH_DATABASE = 'bench_fanout';

/** The token of client `i`'s department. */
export function departmentToken(i: number): string {
  return `fanout-department-${i % GOVERNANCE_DEPARTMENTS}-token`;
}

export async function governanceOptions(
  env: Environment,
): Promise<{ access: MapAccess; ledger: MapLedger; stop(): Promise<void> }> {
  const { catalogue: city } = await loadCatalogue();
  const extra = Array.from({ length: GOVERNANCE_DEPARTMENTS - city.departments.length }, (_, k) => ({
    id: `department-${k + city.departments.length + 1}`,
    name_en: `Department ${k + city.departments.length + 1}`,
    name_zh: `部门${k + city.departments.length + 1}`,
  }));
  const catalogue = { ...city, departments: [...city.departments, ...extra] };
  const tokens = catalogue.departments.map((d, i) => ({
    department: d.id,
    sha256: createHash('sha256').update(departmentToken(i)).digest('hex'),
    issued_at: '2026-01-01T00:00:00Z',
  }));
  const client = createClickHouse(env, 'engine');
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${BENCH_DATABASE}` });
  await client.command({
    query: createTable(exchangeLedger, { city: BENCH_DATABASE, restricted: BENCH_DATABASE }),
  });
  const ledger = new ExchangeLedger(client, BENCH_DATABASE, `fanout-bench-${Date.now()}`, {
    key: randomBytes(32),
  });
  ledger.start();
  const policy = { catalogue, grants: () => [] };
  return {
    access: { tokens: () => tokens, policy },
    ledger: mapLedger(ledger, policy),
    stop: async () => {
      await ledger.stop();
      await client.close();
    },
  };
}
