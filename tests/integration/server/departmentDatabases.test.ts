import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepartmentDatabases, departmentDatabase } from '../../../engine/access/departmentDatabases.ts';
import { writeDepartmentUsers } from '../../../engine/access/departmentUsers.ts';
import type { LedgerEntry } from '../../../engine/access/ledgerChain.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import type { Grant } from '../../../engine/catalogue/projection.ts';
import { createClickHouse, selectRows } from '../../../engine/connectors/clickhouse/client.ts';
import { eventsAtomic, populationAtomic } from '../../../engine/connectors/clickhouse/tables/atomic.ts';
import { columnNames, createTable } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const CANARY = '金丝雀 13912345678';
const HOUR = 3_600_000;

/**
 * Each department's own ClickHouse database (issue 16), filled from a city database of the test's own:
 * what the projection lets out and nothing else, revocations dropping tables, and a department user that
 * can read its database only.
 */
describe('department databases (ClickHouse)', async () => {
  const { catalogue: city } = await loadCatalogue();
  const suffix = uniqueSuffix();
  const department = `t-${suffix}`.replace(/[^a-z0-9-]/g, '');
  const catalogue = {
    ...city,
    departments: [...city.departments, { id: department, name_en: 'Test', name_zh: '测试' }],
  };
  const engine = createClickHouse(testEnv, 'engine');
  const source = `test_src_${suffix}`;
  const grants: Grant[] = [];
  const recorded: LedgerEntry[] = [];
  const databases = new DepartmentDatabases(
    engine,
    { catalogue, grants: () => grants },
    { source, ledger: { record: (e) => recorded.push(e) } },
  );
  const target = departmentDatabase(department);
  const now = Date.now();

  const row = (table: typeof eventsAtomic, values: Record<string, unknown>) =>
    Object.fromEntries(columnNames(table).map((c) => [c, values[c] ?? defaults(table, c)]));
  const defaults = (table: typeof eventsAtomic, column: string) => {
    const type = table.columns.find((c) => c.startsWith(`${column} `))!.slice(column.length + 1);
    if (type.startsWith('Nullable')) return null;
    if (type === 'String') return '';
    if (type === 'DateTime') return Math.floor(now / 1000);
    return 0;
  };
  const insertEvents = (ids: string[]) =>
    engine.insert({
      table: `${source}.${eventsAtomic.name}`,
      format: 'JSONEachRow',
      values: ids.map((id, i) =>
        row(eventsAtomic, {
          id,
          incident_id: `I-${id}`,
          ts_ms: now + i,
          reporter_name: CANARY,
          reporter_phone: CANARY,
          has_reporter: 1,
          category: 'fire',
        }),
      ),
    });
  const count = async (table: string) =>
    Number(
      (await selectRows<{ n: string }>(engine, `SELECT count() AS n FROM ${target}.${table} FINAL`))[0]?.n,
    );
  const tables = async () =>
    (
      await selectRows<{ name: string }>(
        engine,
        `SELECT name FROM system.tables WHERE database = '${target}' ORDER BY name`,
      )
    ).map((r) => r.name);

  beforeAll(async () => {
    await engine.command({ query: `CREATE DATABASE ${source}` });
    for (const table of [eventsAtomic, populationAtomic])
      await engine.command({ query: createTable(table, { city: source, restricted: source }) });
    await insertEvents(['e1', 'e2']);
    await engine.insert({
      table: `${source}.${populationAtomic.name}`,
      format: 'JSONEachRow',
      values: [row(populationAtomic as typeof eventsAtomic, { id: 'p1', cell: '88411c8d6dfffff' })],
    });
  });
  afterAll(async () => {
    await engine.command({ query: `DROP DATABASE IF EXISTS ${source}` });
    await engine.command({ query: `DROP DATABASE IF EXISTS ${target}` });
    await writeDepartmentUsers(testEnv.CITY_OPS_STACK_DIR, city); // the test's user goes again
    await engine.close();
  });

  it('holds the unconditional classes, and a conditional one only under a grant, without negative-list items', async () => {
    await databases.sync(department, now + 5000);
    expect(await tables()).toEqual(['population_atomic']);
    expect(await count('population_atomic')).toBe(1);
    expect(recorded.map((e) => [e.consumer, e.resource, e.exit, e.records])).toEqual([
      [department, 'cleaned.population', 'database', 1],
    ]);

    grants.push({
      id: 'g-events',
      department,
      resource: 'cleaned.events',
      items: ['*'],
      purpose: 'a test',
      approved_by: 'urban-management',
      valid_from: new Date(now - HOUR).toISOString(),
      valid_until: new Date(now + HOUR).toISOString(),
    });
    await databases.sync(department, now + 5000);
    expect(await tables()).toEqual(['events_atomic', 'population_atomic']);
    expect(await count('events_atomic')).toBe(2);
    const columns = await selectRows<{ name: string }>(
      engine,
      `SELECT name FROM system.columns WHERE database = '${target}' AND table = 'events_atomic'`,
    );
    expect(columns.map((c) => c.name).filter((n) => /reporter/.test(n))).toEqual([]);
    const text = JSON.stringify(await selectRows(engine, `SELECT * FROM ${target}.events_atomic`));
    expect(text).not.toContain('金丝雀');
    expect(text).not.toContain('13912345678');
  });

  it('copies what lands later, once, and drops a table once its grant is revoked', async () => {
    await insertEvents(['e3']);
    await databases.sync(department, now + 10_000);
    expect(await count('events_atomic')).toBe(3);
    grants[0] = { ...grants[0]!, revoked_at: new Date(now + 6000).toISOString() };
    await databases.sync(department, now + 10_000);
    expect(await tables()).toEqual(['population_atomic']);
  });

  it('lets the department’s user read its database and nothing else of the city', async () => {
    const users = await writeDepartmentUsers(testEnv.CITY_OPS_STACK_DIR, catalogue);
    const mine = users.find((u) => u.department === department)!;
    const ask = async (query: string) => {
      const response = await fetch(
        `${testEnv.CLICKHOUSE_URL}/?user=${mine.user}&password=${encodeURIComponent(mine.password)}`,
        { method: 'POST', body: query },
      );
      return { status: response.status, text: await response.text() };
    };
    // ClickHouse picks a changed users file up by itself, within seconds.
    const deadline = Date.now() + 30_000;
    const query = `SELECT count() FROM ${target}.population_atomic FINAL`;
    let own = await ask(query);
    while (own.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      own = await ask(query);
    }
    expect(own).toEqual({ status: 200, text: '1\n' });
    for (const other of [`${source}.events_atomic`, 'city_dept_health.population_atomic'])
      expect((await ask(`SELECT count() FROM ${other}`)).text).toMatch(/Access denied to database/);
    expect((await ask(`CREATE TABLE ${target}.x (a UInt8) ENGINE = Memory`)).text).toMatch(/readonly/i);
  });
});
