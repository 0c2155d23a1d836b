import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultTokensPath, issueDepartmentToken } from '../../access/departmentTokens.ts';
import { GrantRequestStore } from '../../access/grantRequests.ts';
import { GrantStore } from '../../access/grantStore.ts';
import { loadCatalogue } from '../../catalogue/loadCatalogue.ts';
import { isLive } from '../../catalogue/projection.ts';
import { loadEnvironment } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { CityOpsError } from '../../errors.ts';
import type { Command } from '../main.ts';
import { fillDatabases, instant, requestAction, required, runAssessment } from './accessActions.ts';
import { syncKafka } from './accessKafka.ts';

const USAGE = `city-ops access (token <dept> | grants | grant | revoke <id> | request | requests | answer <id> | databases | kafka | assess)

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

  kafka            each department's Kafka user (dept-<dept>, SCRAM-SHA-512; passwords in
                   .stack/department-kafka.json) may read the topics of the classes it receives as sent,
                   with consumer groups named dept-<dept>.*; kept equal to the grants every --every
                   seconds (default 15; --once for one pass)

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
      if (action === 'kafka') return await syncKafka(env, store, loaded, values, out);
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
