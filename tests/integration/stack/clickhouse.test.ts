import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

describe('ClickHouse server of the local stack', () => {
  const engine = createClickHouse(testEnv);
  const analyst = createClickHouse(testEnv, 'analyst');
  const table = `${testEnv.CLICKHOUSE_DATABASE}.stack_check_${uniqueSuffix()}`;
  const restricted = `${testEnv.CLICKHOUSE_RESTRICTED_DATABASE}.stack_check_${uniqueSuffix()}`;

  beforeAll(async () => {
    for (const db of [testEnv.CLICKHOUSE_DATABASE, testEnv.CLICKHOUSE_RESTRICTED_DATABASE]) {
      await engine.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    }
    await engine.command({
      query: `CREATE TABLE ${table} (id UInt64, name String, at DateTime) ENGINE = MergeTree ORDER BY id`,
    });
    await engine.command({ query: `CREATE TABLE ${restricted} (id UInt64) ENGINE = MergeTree ORDER BY id` });
  });

  afterAll(async () => {
    await engine.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await engine.command({ query: `DROP TABLE IF EXISTS ${restricted}` });
    await Promise.all([engine.close(), analyst.close()]);
  });

  it('answers as version 18.16 or newer', async () => {
    const rows = await (await engine.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{
      v: string;
    }>();
    const [major, minor] = (rows[0]?.v ?? '0.0').split('.').map(Number);
    expect((major ?? 0) * 100 + (minor ?? 0)).toBeGreaterThanOrEqual(1816);
  });

  it('inserts and reads rows as the engine user', async () => {
    await engine.insert({
      table,
      format: 'JSONEachRow',
      values: [
        { id: 1, name: "O'Brien", at: '2026-11-27 08:00:00' },
        { id: 2, name: 'Futian', at: '2026-11-27 08:01:00' },
      ],
    });
    const rows = await (
      await engine.query({ query: `SELECT * FROM ${table} ORDER BY id`, format: 'JSONEachRow' })
    ).json();
    expect(rows).toEqual([
      { id: '1', name: "O'Brien", at: '2026-11-27 08:00:00' },
      { id: '2', name: 'Futian', at: '2026-11-27 08:01:00' },
    ]);
  });

  it("refuses the engine user's JSON rows with an unknown column, whatever the server's own profile skips", async () => {
    await expect(
      engine.insert({
        table,
        format: 'JSONEachRow',
        values: [{ id: 3, name: 'x', at: '2026-11-27 08:02:00', nmae: 'y' }],
      }),
    ).rejects.toThrow(/nmae/);
  });

  it('lets the analyst SELECT from city and nothing more', async () => {
    const rows = await (
      await analyst.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
    ).json<{
      n: string;
    }>();
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(0);

    await expect(
      analyst.insert({
        table,
        format: 'JSONEachRow',
        values: [{ id: 3, name: 'x', at: '2026-11-27 08:02:00' }],
      }),
    ).rejects.toThrow(/readonly/i);
    await expect(analyst.command({ query: `DROP TABLE ${table}` })).rejects.toThrow(/readonly/i);
    await expect(
      analyst.command({ query: `CREATE DATABASE analyst_made_${uniqueSuffix()}` }),
    ).rejects.toThrow(/readonly/i);
    // Personal data lives in its own database, which the analyst may not read at all.
    await expect(
      analyst.query({ query: `SELECT count() FROM ${restricted}`, format: 'JSONEachRow' }),
    ).rejects.toThrow(/access denied/i);
    // readonly=1 cannot be lifted from the request.
    await expect(
      analyst.command({ query: `DROP TABLE ${table}`, clickhouse_settings: { readonly: '0' } }),
    ).rejects.toThrow(/readonly/i);
    const still = await (
      await engine.query({ query: `EXISTS TABLE ${table}`, format: 'JSONEachRow' })
    ).json();
    expect(still).toEqual([{ result: 1 }]);
  });
});
