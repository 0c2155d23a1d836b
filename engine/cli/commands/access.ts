import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultTokensPath, issueDepartmentToken } from '../../access/departmentTokens.ts';
import { GrantStore } from '../../access/grantStore.ts';
import { loadCatalogue } from '../../catalogue/loadCatalogue.ts';
import { isLive } from '../../catalogue/projection.ts';
import { loadEnvironment } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { CityOpsError } from '../../errors.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops access (token <department> | grants | grant [options] | revoke <id>)

The departments' access to the exchange (docs/access.md): their map/history tokens and their grants of
conditional resource classes, kept in ClickHouse (city.grants, append-only, for audit).

  token <dept>     issue a new token for the department (replaces its old one); printed once, and only
                   its SHA-256 is kept, in --tokens
  grants           every grant: id, department, class, items, in force now or not, validity, purpose
  grant            record a grant; needs --department, --resource, --items, --purpose, --approved-by and
                   --until; --from defaults to now, --id to a new UUID
  revoke <id>      revoke a grant from now (or --at); the exits stop delivering within 60 s

  --items a,b*     item ids or patterns (* = any run of characters) of the class
  --catalogue <f>  the catalogue grants are checked against (default config/catalogue.yaml)
  --tokens <f>     the token digests (default .stack/department-tokens.json)`;

const OPTIONS = {
  id: { type: 'string' },
  department: { type: 'string' },
  resource: { type: 'string' },
  items: { type: 'string' },
  purpose: { type: 'string' },
  'approved-by': { type: 'string' },
  from: { type: 'string' },
  until: { type: 'string' },
  at: { type: 'string' },
  catalogue: { type: 'string' },
  tokens: { type: 'string' },
} as const;

function required(values: Record<string, string | undefined>, name: string): string {
  const value = values[name];
  if (value === undefined || value === '')
    throw new CityOpsError('CLI_USAGE', `access grant needs --${name}`, { hint: USAGE });
  return value;
}

function instant(value: string | undefined, name: string): number {
  if (value === undefined) return Date.now();
  const at = Date.parse(value);
  if (Number.isNaN(at))
    throw new CityOpsError('CLI_USAGE', `--${name} ${value} is not a time`, {
      hint: 'write an ISO time, e.g. 2027-01-31T00:00:00+08:00',
    });
  return at;
}

export const command: Command = {
  summary: "Issue departments' tokens; record, list and revoke grants of conditional classes.",
  usage: USAGE,
  async run(argv) {
    let parsed: ReturnType<
      typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
    >;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
    } catch (cause) {
      throw new CityOpsError('CLI_USAGE', (cause as Error).message, { hint: USAGE });
    }
    const { values, positionals } = parsed;
    const [action, subject] = positionals;
    const env = loadEnvironment();
    const { catalogue } = await loadCatalogue(values.catalogue ? resolve(values.catalogue) : undefined);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    if (action === 'token' && subject !== undefined) {
      const path = values.tokens ? resolve(values.tokens) : defaultTokensPath(env.CITY_OPS_STACK_DIR);
      const token = await issueDepartmentToken(path, catalogue, subject);
      out(token);
      process.stderr.write(`token of ${subject} issued; its digest is in ${path}; this is the only copy\n`);
      return 0;
    }
    const client = createClickHouse(env, 'engine', { requestTimeoutMs: 15_000 });
    const store = new GrantStore(client, env.CLICKHOUSE_DATABASE);
    const by = userInfo().username;
    try {
      if (action === 'grants') {
        const now = Date.now();
        for (const g of await store.current())
          out(
            [
              g.id,
              g.department,
              g.resource,
              g.items.join(','),
              isLive(g, now) ? 'in force' : 'not in force',
              `${g.valid_from}..${g.valid_until}`,
              g.revoked_at ? `revoked ${g.revoked_at}` : '',
              g.purpose,
            ].join('\t'),
          );
        return 0;
      }
      if (action === 'grant') {
        const grant = {
          id: values.id ?? randomUUID(),
          department: required(values, 'department'),
          resource: required(values, 'resource'),
          items: required(values, 'items')
            .split(',')
            .map((i) => i.trim()),
          purpose: required(values, 'purpose'),
          approved_by: required(values, 'approved-by'),
          valid_from: new Date(instant(values.from, 'from')).toISOString(),
          valid_until: new Date(instant(required(values, 'until'), 'until')).toISOString(),
        };
        await store.record(catalogue, grant, by);
        out(grant.id);
        return 0;
      }
      if (action === 'revoke' && subject !== undefined) {
        const revoked = await store.revoke(subject, instant(values.at, 'at'), by);
        out(`${revoked.id} revoked from ${revoked.revoked_at}`);
        return 0;
      }
    } finally {
      await client.close();
    }
    throw new CityOpsError('CLI_USAGE', `unknown access action '${positionals.join(' ')}'`, { hint: USAGE });
  },
};
