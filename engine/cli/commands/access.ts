import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { assess, loadAssessmentConfig } from '../../access/assessment.ts';
import { DepartmentDatabases, departmentDatabase } from '../../access/departmentDatabases.ts';
import { defaultTokensPath, issueDepartmentToken } from '../../access/departmentTokens.ts';
import { departmentUsersPaths, writeDepartmentUsers } from '../../access/departmentUsers.ts';
import { ExchangeLedger } from '../../access/exchangeLedger.ts';
import { GrantRequestStore, isOverdue } from '../../access/grantRequests.ts';
import { GrantStore } from '../../access/grantStore.ts';
import { defaultLedgerKeyPath, ledgerKey, ledgerSpoolPath } from '../../access/ledgerKey.ts';
import type { Catalogue } from '../../catalogue/catalogueSchema.ts';
import { watchCatalogue } from '../../catalogue/catalogueWatcher.ts';
import { type LoadedCatalogue, loadCatalogue } from '../../catalogue/loadCatalogue.ts';
import { isLive } from '../../catalogue/projection.ts';
import { type Environment, loadEnvironment } from '../../config/environment.ts';
import { type ClickHouseClient, createClickHouse } from '../../connectors/clickhouse/client.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops access (token <dept> | grants | grant | revoke <id> | request | requests | answer <id> | databases | assess)

The departments' access to the exchange (docs/access.md): their map/history tokens and their grants of
conditional resource classes, kept in ClickHouse (city.grants, append-only, for audit).

  token <dept>     issue a new token for the department (replaces its old one); printed once, and only
                   its SHA-256 is kept, in --tokens
  grants           every grant: id, department, class, items, in force now or not, validity, purpose
  grant            record a grant; needs --department, --resource, --items, --purpose, --approved-by and
                   --until; --from defaults to now, --id to a new UUID
  revoke <id>      revoke a grant from now (or --at); the exits stop delivering within 60 s
  request          a department asks for a conditional class: --department, --resource, --items,
                   --purpose; the provider answers within 5 working days (an overdue answer is an alert)
  requests         every request: id, state (open, OVERDUE, granted, refused), who asks whom, due time
  answer <id>      the provider's answer: --grant with --until and --approved-by (records the grant), or
                   --refuse with --legal-basis and --approved-by

  databases        fill each department's ClickHouse database (city_dept_<dept>) with what it may see,
                   every --every seconds (default 60; --once for one pass); makes the departments'
                   read-only users on the local stack (passwords in .stack/department-clickhouse.json)

  assess           the sharing assessment: each input stream's provider scored per hour and per day
                   (city.sharing_scorecard; weights in config/assessment.yaml) over --from..--to (default
                   the last 48 h), every --every seconds (default 300; --once for one pass)

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
  grant: { type: 'boolean' },
  refuse: { type: 'boolean' },
  'legal-basis': { type: 'string' },
  once: { type: 'boolean' },
  to: { type: 'string' },
  every: { type: 'string' },
} as const;

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '')
    throw new CityOpsError('CLI_USAGE', `this access action needs --${name}`, { hint: USAGE });
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
    const loaded = await loadCatalogue(values.catalogue ? resolve(values.catalogue) : undefined);
    const { catalogue } = loaded;
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
      if (action === 'databases') return await fillDatabases(env, client, store, loaded, values, out);
      if (action === 'assess') return await runAssessment(env, client, catalogue, values, out);
      if (action === 'request' || action === 'requests' || action === 'answer') {
        const requests = new GrantRequestStore(client, env.CLICKHOUSE_DATABASE);
        return await requestAction(action, subject, values, { catalogue, requests, store, by, out });
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

/** `request`, `requests` and `answer`: the request -> provider answer -> grant or refusal workflow. */
async function requestAction(
  action: string,
  subject: string | undefined,
  values: Record<string, string | boolean | undefined>,
  context: {
    catalogue: Catalogue;
    requests: GrantRequestStore;
    store: GrantStore;
    by: string;
    out: (line: string) => void;
  },
): Promise<number> {
  const { catalogue, requests, store, by, out } = context;
  const text = values as Record<string, string | undefined>;
  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
  if (action === 'request') {
    const request = await requests.request(
      catalogue,
      {
        department: required(text, 'department'),
        resource: required(text, 'resource'),
        items: required(text, 'items')
          .split(',')
          .map((i) => i.trim()),
        purpose: required(text, 'purpose'),
      },
      by,
    );
    out(`${request.id}\t${request.provider} answers by ${iso(request.due_at)}`);
    return 0;
  }
  if (action === 'requests') {
    const now = Date.now();
    for (const r of await requests.current())
      out(
        [
          r.id,
          isOverdue(r, now) ? 'OVERDUE' : r.state,
          `${r.department} asks ${r.provider}`,
          r.resource,
          r.items.join(','),
          `due ${iso(r.due_at)}`,
          r.answered_at === null ? '' : `answered ${iso(r.answered_at)} by ${r.answered_by}`,
          r.legal_basis,
          r.purpose,
        ].join('\t'),
      );
    return 0;
  }
  if (subject === undefined || values['grant'] === values['refuse'])
    throw new CityOpsError('CLI_USAGE', 'answer <request id> takes either --grant or --refuse', {
      hint: USAGE,
    });
  const approvedBy = required(text, 'approved-by');
  const answered = values['grant']
    ? await requests.grant(catalogue, store, subject, {
        approved_by: approvedBy,
        valid_until: instant(required(text, 'until'), 'until'),
        ...(text['from'] === undefined ? {} : { valid_from: instant(text['from'], 'from') }),
      })
    : await requests.refuse(subject, { by: approvedBy, legal_basis: required(text, 'legal-basis') });
  out(`${answered.id}\t${answered.state}${answered.grant_id ? `\tgrant ${answered.grant_id}` : ''}`);
  return 0;
}

/**
 * `databases`: each department's own database, filled by the projection, once or every N seconds, with the
 * catalogue reloaded when its file changes and every copy in the exchange ledger (writer `databases`).
 */
async function fillDatabases(
  env: Environment,
  client: ClickHouseClient,
  store: GrantStore,
  loaded: LoadedCatalogue,
  values: Record<string, string | boolean | undefined>,
  out: (line: string) => void,
): Promise<number> {
  const every = Number(values['every'] ?? 60);
  if (!Number.isFinite(every) || every < 1)
    throw new CityOpsError('CLI_USAGE', `--every must be a number of seconds, not '${values['every']}'`);
  const logger = createLogger('department-databases');
  const catalogue = watchCatalogue(loaded, logger);
  catalogue.start();
  const ledger = new ExchangeLedger(client, env.CLICKHOUSE_DATABASE, 'databases', {
    key: ledgerKey(defaultLedgerKeyPath(env.CITY_OPS_STACK_DIR)),
    spoolPath: ledgerSpoolPath(env.CITY_OPS_STACK_DIR, env.CLICKHOUSE_DATABASE, 'databases'),
    logger,
  });
  let grants = await store.current();
  const policy = {
    get catalogue() {
      return catalogue.current.catalogue;
    },
    grants: () => grants,
  };
  const databases = new DepartmentDatabases(client, policy, {
    source: env.CLICKHOUSE_DATABASE,
    logger,
    ledger,
  });
  try {
    for (;;) {
      // A failed pass (ClickHouse away) is logged and the next one tries again; the users follow the
      // catalogue in force.
      try {
        const users = await writeDepartmentUsers(env.CITY_OPS_STACK_DIR, policy.catalogue);
        grants = await store.current();
        for (const [department, tables] of await databases.syncAll())
          out(`${departmentDatabase(department)}: ${tables.join(', ') || 'nothing'}`);
        await ledger.flush();
        out(
          `${users.length} department users (passwords: ${departmentUsersPaths(env.CITY_OPS_STACK_DIR).passwords})`,
        );
      } catch (error) {
        if (values['once']) throw error;
        logger.error({ err: error }, 'department databases: this pass failed; the next one tries again');
      }
      if (values['once']) return 0;
      await new Promise((r) => setTimeout(r, every * 1000));
    }
  } finally {
    catalogue.stop();
    await ledger.stop();
  }
}

/** `assess`: the scorecard of the last 48 h (or --from..--to), once or every N seconds. */
async function runAssessment(
  env: Environment,
  client: ClickHouseClient,
  catalogue: Catalogue,
  values: Record<string, string | boolean | undefined>,
  out: (line: string) => void,
): Promise<number> {
  const config = await loadAssessmentConfig();
  const every = Number(values['every'] ?? 300);
  if (!Number.isFinite(every) || every < 1)
    throw new CityOpsError('CLI_USAGE', `--every must be a number of seconds, not '${values['every']}'`);
  const once = values['once'] === true || typeof values['to'] === 'string';
  for (;;) {
    const to = typeof values['to'] === 'string' ? instant(values['to'], 'to') : Date.now();
    const from = typeof values['from'] === 'string' ? instant(values['from'], 'from') : to - 48 * 3_600_000;
    try {
      await assess(client, env.CLICKHOUSE_DATABASE, catalogue, config, env.CITY_OPS_TOPIC_PREFIX, from, to);
      out(
        `assessed ${new Date(from).toISOString()} .. ${new Date(to).toISOString()} into city.sharing_scorecard`,
      );
    } catch (error) {
      if (once) throw error;
      createLogger('assessment').error(
        { err: error },
        'this assessment pass failed; the next one tries again',
      );
    }
    if (once) return 0;
    await new Promise((r) => setTimeout(r, every * 1000));
  }
}
