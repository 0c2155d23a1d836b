import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { Environment } from '../../config/environment.ts';

export type { ClickHouseClient };

export type ClickHouseRole = 'engine' | 'analyst';

/**
 * A `@clickhouse/client` for `CLICKHOUSE_URL`, as the engine's user (default) or the read-only analyst.
 *
 * Works against ClickHouse 18.16 (Debian's package) and current releases. 18.16 has no query parameters:
 * values are put into SQL with `engine/connectors/clickhouse/sqlLiteral.ts`, never by concatenation.
 */
export function createClickHouse(
  env: Environment,
  role: ClickHouseRole = 'engine',
  options: { database?: string; requestTimeoutMs?: number } = {},
): ClickHouseClient {
  const analyst = role === 'analyst';
  return createClient({
    url: env.CLICKHOUSE_URL,
    username: analyst ? env.CLICKHOUSE_ANALYST_USER : env.CLICKHOUSE_USER,
    password: analyst ? env.CLICKHOUSE_ANALYST_PASSWORD : env.CLICKHOUSE_PASSWORD,
    ...(options.database ? { database: options.database } : {}),
    request_timeout: options.requestTimeoutMs ?? 60_000,
    max_open_connections: 8,
    application: 'city-ops',
    // Failed requests reject with the server's message; callers log them with context. The client's own
    // logger would print the same error a second time, unstructured.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/** The rows of a SELECT, as objects (JSONEachRow; 64-bit integers arrive as strings). */
export async function selectRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/**
 * The rows of a query as arrays in its column order (JSONCompact; 18.16 has no JSONCompactEachRow):
 * cheaper to parse than objects when there are many. 64-bit integers arrive as strings (ClickHouse quotes them), so select them with
 * toString() or convert them.
 */
export async function selectCompact<T extends unknown[]>(
  client: ClickHouseClient,
  query: string,
): Promise<T[]> {
  return (await (await client.query({ query, format: 'JSONCompact' })).json<T>()).data;
}
