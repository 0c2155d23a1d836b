import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { matchesPattern } from '../catalogue/negativeList.ts';
import { type Grant, GrantSchema } from '../catalogue/projection.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { grants as grantsTable } from '../connectors/clickhouse/tables/exchange.ts';
import { columnNames } from '../connectors/clickhouse/tables/table.ts';
import { CityOpsError } from '../errors.ts';

/**
 * Why a grant cannot be recorded against this catalogue, one line per problem (empty: it can). A grant
 * names a department and a conditional class of the catalogue, and each of its item patterns names at
 * least one item of that class: a pattern that matches nothing is a typing mistake, not a grant.
 */
export function grantProblems(catalogue: Catalogue, grant: Grant): string[] {
  const problems: string[] = [];
  if (!catalogue.departments.some((d) => d.id === grant.department))
    problems.push(`department '${grant.department}' is not in the catalogue`);
  const resource = catalogue.resources.find((r) => r.id === grant.resource);
  if (resource === undefined)
    return [...problems, `resource class '${grant.resource}' is not in the catalogue`];
  if (resource.sharing !== 'conditional')
    problems.push(`'${grant.resource}' is shared '${resource.sharing}': only a conditional class is granted`);
  for (const pattern of grant.items)
    if (!resource.items.some((i) => matchesPattern(pattern, i.id)))
      problems.push(`item pattern '${pattern}' matches no item of '${grant.resource}'`);
  return problems;
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const iso = (epochSeconds: number | string) => new Date(Number(epochSeconds) * 1000).toISOString();

/**
 * Grants kept in ClickHouse (`city.grants`, append-only): `record` writes a grant, `revoke` a later row of
 * the same grant with `revoked_at`, `current` reads each grant's latest row. Every row stays for audit.
 */
export class GrantStore {
  readonly #client: ClickHouseClient;
  readonly #table: string;

  constructor(client: ClickHouseClient, database: string) {
    this.#client = client;
    this.#table = `${sqlIdentifier(database)}.${grantsTable.name}`;
  }

  /** Records a grant after checking it against the catalogue (CONFIG_INVALID with every problem). */
  async record(catalogue: Catalogue, grant: Grant, recordedBy: string): Promise<void> {
    const problems = grantProblems(catalogue, GrantSchema.parse(grant));
    if (problems.length > 0)
      throw new CityOpsError('CONFIG_INVALID', `grant ${grant.id} refused:\n  ${problems.join('\n  ')}`, {
        hint: '`city-ops catalogue list` shows the classes and their items',
      });
    if ((await this.#latest(grant.id)) !== undefined)
      throw new CityOpsError('CONFIG_INVALID', `grant ${grant.id} exists already`, {
        hint: 'give the grant a new id; revoke the old one if it is replaced',
      });
    await this.#insert(grant, 'grant', recordedBy);
  }

  /**
   * Revokes a grant from `at` (epoch ms); NOT_FOUND when there is no such grant. A grant revoked already
   * keeps its earlier revocation.
   */
  async revoke(id: string, at: number, recordedBy: string): Promise<Grant> {
    const grant = await this.#latest(id);
    if (grant === undefined)
      throw new CityOpsError('CLI_USAGE', `there is no grant ${id}`, {
        hint: '`city-ops access grants` lists them',
      });
    if (grant.revoked_at !== undefined && Date.parse(grant.revoked_at) <= at) return grant;
    const revoked = { ...grant, revoked_at: new Date(at).toISOString() };
    await this.#insert(revoked, 'revoke', recordedBy);
    return revoked;
  }

  /** Every grant in its current state (its latest row), ordered by id. */
  async current(): Promise<Grant[]> {
    return this.#select('');
  }

  async #latest(id: string): Promise<Grant | undefined> {
    return (await this.#select(`WHERE id = ${sqlString(id)}`))[0];
  }

  async #select(where: string): Promise<Grant[]> {
    const latest = (column: string) => `argMax(${column}, recorded_at_ms) AS ${column}`;
    const rows = await selectRows<Record<string, unknown>>(
      this.#client,
      `SELECT id, ${['department', 'resource', 'items', 'purpose', 'approved_by'].map(latest).join(', ')},
        argMax(toUnixTimestamp(valid_from), recorded_at_ms) AS valid_from,
        argMax(toUnixTimestamp(valid_until), recorded_at_ms) AS valid_until,
        argMax(toUnixTimestamp(revoked_at), recorded_at_ms) AS revoked_at
      FROM ${this.#table} ${where} GROUP BY id ORDER BY id`,
    );
    return rows.map((row) =>
      GrantSchema.parse({
        ...row,
        valid_from: iso(row['valid_from'] as number),
        valid_until: iso(row['valid_until'] as number),
        ...(row['revoked_at'] === null
          ? { revoked_at: undefined }
          : { revoked_at: iso(row['revoked_at'] as number) }),
      }),
    );
  }

  async #insert(grant: Grant, action: 'grant' | 'revoke', recordedBy: string): Promise<void> {
    const row: Record<string, unknown> = {
      id: grant.id,
      action,
      department: grant.department,
      resource: grant.resource,
      items: grant.items,
      purpose: grant.purpose,
      approved_by: grant.approved_by,
      valid_from: seconds(grant.valid_from),
      valid_until: seconds(grant.valid_until),
      revoked_at: grant.revoked_at === undefined ? null : seconds(grant.revoked_at),
      recorded_by: recordedBy,
      recorded_at_ms: Date.now(),
    };
    const values = [Object.fromEntries(columnNames(grantsTable).map((c) => [c, row[c]]))];
    await this.#client.insert({ table: this.#table, format: 'JSONEachRow', values });
  }
}
