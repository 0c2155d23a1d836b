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
/** The last second a ClickHouse DateTime holds (2106-02-07T06:28:15Z). */
const MAX_DATETIME_S = 4_294_967_295;

/** Why a grant's times cannot be kept as they are: DateTime holds whole seconds up to 2106. */
function storable(grant: Grant): string[] {
  const problems: string[] = [];
  for (const [name, value] of [
    ['valid_from', grant.valid_from],
    ['valid_until', grant.valid_until],
  ] as const)
    if (seconds(value) < 0 || seconds(value) > MAX_DATETIME_S)
      problems.push(`${name} must be between 1970 and 2106`);
  if (seconds(grant.valid_until) <= seconds(grant.valid_from))
    problems.push('valid_until must be at least a second after valid_from (grants are kept to the second)');
  return problems;
}
const iso = (epochSeconds: number | string) => new Date(Number(epochSeconds) * 1000).toISOString();

/**
 * Grants kept in ClickHouse (`city.grants`, append-only): `record` writes a grant, `revoke` a later row of
 * the same grant with `revoked_at`, `current` reads each grant's state: its fields from its latest row,
 * and its earliest revocation (so no clock or row order can undo a revocation). Every row stays for audit.
 */
export class GrantStore {
  readonly #client: ClickHouseClient;
  readonly #table: string;

  readonly #onBadRow: (id: string, problem: string) => void;

  /** `onBadRow` hears of a stored row that is not a valid grant (it is skipped). */
  constructor(
    client: ClickHouseClient,
    database: string,
    onBadRow: (id: string, problem: string) => void = () => {},
  ) {
    this.#client = client;
    this.#table = `${sqlIdentifier(database)}.${grantsTable.name}`;
    this.#onBadRow = onBadRow;
  }

  /** Records a grant after checking it against the catalogue (CONFIG_INVALID with every problem). */
  async record(catalogue: Catalogue, grant: Grant, recordedBy: string): Promise<void> {
    const problems = [...grantProblems(catalogue, GrantSchema.parse(grant)), ...storable(grant)];
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

  /** One grant in its current state, or undefined. */
  async get(id: string): Promise<Grant | undefined> {
    return this.#latest(id);
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
        min(toUnixTimestamp(revoked_at)) AS revoked_at
      FROM ${this.#table} ${where} GROUP BY id ORDER BY id`,
    );
    const grants: Grant[] = [];
    for (const row of rows) {
      const { revoked_at, valid_from, valid_until, ...fields } = row;
      const parsed = GrantSchema.safeParse({
        ...fields,
        valid_from: iso(valid_from as number),
        valid_until: iso(valid_until as number),
        ...(revoked_at === null ? {} : { revoked_at: iso(revoked_at as number) }),
      });
      // A row this store would not write (edited by hand) must not take every other grant down with it.
      if (parsed.success) grants.push(parsed.data);
      else this.#onBadRow(String(row['id']), parsed.error.message);
    }
    return grants;
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
