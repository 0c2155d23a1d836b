import { assess, assessCases, loadAssessmentConfig } from '../../access/assessment.ts';
import { CITY_OFFSET_MS } from '../../access/cityCalendar.ts';
import { DepartmentDatabases, departmentDatabase } from '../../access/departmentDatabases.ts';
import { departmentUsersPaths, writeDepartmentUsers } from '../../access/departmentUsers.ts';
import { ExchangeLedger } from '../../access/exchangeLedger.ts';
import { type GrantRequestStore, isOverdue } from '../../access/grantRequests.ts';
import type { GrantStore } from '../../access/grantStore.ts';
import { defaultLedgerKeyPath, ledgerKey, ledgerSpoolPath } from '../../access/ledgerKey.ts';
import { cityWorkingCalendar } from '../../access/workingDays.ts';
import type { Catalogue } from '../../catalogue/catalogueSchema.ts';
import { watchCatalogue } from '../../catalogue/catalogueWatcher.ts';
import type { LoadedCatalogue } from '../../catalogue/loadCatalogue.ts';
import type { Environment } from '../../config/environment.ts';
import type { ClickHouseClient } from '../../connectors/clickhouse/client.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';

/**
 * The longer actions of `city-ops access` (engine/cli/commands/access.ts): the request workflow, the
 * department databases and the sharing assessment, and the option helpers they share with it.
 */

const HINT = 'see `city-ops access --help`';

export function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '')
    throw new CityOpsError('CLI_USAGE', `this access action needs --${name}`, { hint: HINT });
  return value;
}

export function instant(value: string | undefined, name: string): number {
  if (value === undefined) return Date.now();
  const at = Date.parse(value);
  if (Number.isNaN(at))
    throw new CityOpsError('CLI_USAGE', `--${name} ${value} is not a time`, {
      hint: 'write an ISO time, e.g. 2027-01-31T00:00:00+08:00',
    });
  return at;
}

/** `request`, `requests` and `answer`: the request -> provider answer -> grant or refusal workflow. */
export async function requestAction(
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
    const year = new Date(request.due_at + CITY_OFFSET_MS).getUTCFullYear();
    if (!cityWorkingCalendar().covers(year))
      out(
        `note: config/holidays.yaml has no public holidays for ${year}; its weekdays all counted as working days`,
      );
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
      hint: HINT,
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
export async function fillDatabases(
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
export async function runAssessment(
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
      await assessCases(client, env.CLICKHOUSE_DATABASE, config, from, to);
      out(
        `assessed ${new Date(from).toISOString()} .. ${new Date(to).toISOString()} into city.sharing_scorecard and city.case_scorecard`,
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
