import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../engine/config/environment.ts';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { migrate } from '../../../engine/connectors/clickhouse/migrate.ts';
import { testEnv } from '../../helpers/environment.ts';

const queries = [
  ...readFileSync(join(PROJECT_ROOT, 'docs', 'schema.md'), 'utf8').matchAll(/```sql\n([\s\S]*?)```/g),
].map((m) => m[1]!.trim());

describe('docs/schema.md example queries', () => {
  const engine = createClickHouse(testEnv);
  const analyst = createClickHouse(testEnv, 'analyst');

  beforeAll(async () => {
    await migrate(engine, testEnv);
  });
  afterAll(async () => {
    await Promise.all([engine.close(), analyst.close()]);
  });

  it('has examples', () => {
    expect(queries.length).toBeGreaterThanOrEqual(5);
  });

  it.each(queries.map((q) => [q.split('\n')[0]!, q]))('runs as the analyst: %s', async (_title, query) => {
    expect(query).not.toMatch(/city_restricted/);
    const rows = await (await analyst.query({ query, format: 'JSONEachRow' })).json();
    expect(Array.isArray(rows)).toBe(true);
  });
});
