import type { AlertCloudEvent } from '../alerts/alertEvent.ts';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { type Grant, project, projectRecord } from '../catalogue/projection.ts';
import type { Environment } from '../config/environment.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier } from '../connectors/clickhouse/sqlLiteral.ts';
import { exchangeLedger } from '../connectors/clickhouse/tables/exchange.ts';
import type { Logger } from '../observability/logger.ts';
import { ExchangeLedger } from './exchangeLedger.ts';
import type { LedgerEntry } from './ledgerChain.ts';
import { defaultLedgerKeyPath, ledgerKey, ledgerSpoolPath } from './ledgerKey.ts';

/** The catalogue class of the alert webhooks' payloads. */
export const WEBHOOK_CLASS = 'alerts.webhooks';

/**
 * The body a department's webhook receives for one alert event: the event with its data projected for
 * that department. `alerts.webhooks` is shared on the condition that an alert rule routes to the
 * department, so a route stands for the grant of the whole class: what leaves is then decided by the
 * catalogue alone - the negative list, `drop` and each item's masking - through the same projection as
 * every other exit. Returns the event unchanged (the same text) when nothing is withheld or masked, and
 * undefined when nothing of the class may go to the department (the webhook is then not sent).
 */
export function webhookBody(
  catalogue: Catalogue,
  department: string,
  event: AlertCloudEvent,
  body: string,
): string | undefined {
  const route: Grant = {
    id: `route:${department}`,
    department,
    resource: WEBHOOK_CLASS,
    items: ['*'],
    purpose: 'an alert rule routes to the department',
    approved_by: 'the alert routes (config/alerts.yaml)',
    valid_from: '1970-01-01T00:00:00Z',
    valid_until: '9999-12-31T23:59:59Z',
  };
  const projection = project(catalogue, [route], department, WEBHOOK_CLASS, Date.now());
  if (projection.items.length === 0) return undefined;
  const data = projectRecord(event.data, projection);
  const same =
    Object.keys(data).length === Object.keys(event.data).length &&
    Object.entries(data).every(([k, v]) => v === (event.data as Record<string, unknown>)[k]);
  return same ? body : JSON.stringify({ ...event, data });
}

/**
 * The exchange ledger's record of one settled webhook delivery: the items are the payload's fields as
 * sent; event time is the alert's start, ingest time when the dispatcher took the event from the outbox.
 */
export function webhookLedgerEntry(
  department: string,
  body: string,
  consumedAt: number,
  outcome: { status: 'acknowledged' | 'failed'; httpStatus: number },
  now: number,
): LedgerEntry {
  let data: Record<string, unknown> = {};
  try {
    data = (JSON.parse(body) as { data?: Record<string, unknown> }).data ?? {};
  } catch {
    // The body was built by the dispatcher from a parsed event; an unreadable one still gets its row.
  }
  const started = typeof data['started_at'] === 'string' ? Date.parse(data['started_at']) : Number.NaN;
  return {
    consumer: department,
    provider: 'operations-centre',
    resource: WEBHOOK_CLASS,
    exit: 'webhook',
    items: Object.keys(data),
    records: 1,
    bytes: Buffer.byteLength(body),
    event_ms: Number.isFinite(started) ? started : 0,
    ingest_ms: consumedAt,
    delivered_from_ms: now,
    delivered_to_ms: now,
    succeeded: outcome.status === 'acknowledged',
    fault_code:
      outcome.status === 'acknowledged'
        ? ''
        : outcome.httpStatus > 0
          ? `HTTP_${outcome.httpStatus}`
          : 'UNREACHABLE',
  };
}

/**
 * The alert dispatcher's exchange ledger (writer `alerts`), when `database` has the ledger's table;
 * undefined (and a warning) when it has not, rather than rows that could never be written.
 */
export async function startWebhookLedger(
  env: Environment,
  client: ClickHouseClient,
  database: string,
  logger: Logger,
): Promise<ExchangeLedger | undefined> {
  const [exists] = await selectRows<{ result: number | string }>(
    client,
    `EXISTS TABLE ${sqlIdentifier(database)}.${exchangeLedger.name}`,
  );
  if (Number(exists?.result) !== 1) {
    logger.warn(
      { database },
      'no exchange ledger table: webhook deliveries are not recorded (run `city-ops migrate`)',
    );
    return undefined;
  }
  const ledger = new ExchangeLedger(client, database, 'alerts', {
    key: ledgerKey(defaultLedgerKeyPath(env.CITY_OPS_STACK_DIR)),
    spoolPath: ledgerSpoolPath(env.CITY_OPS_STACK_DIR, database, 'alerts'),
    logger,
  });
  ledger.start();
  return ledger;
}
