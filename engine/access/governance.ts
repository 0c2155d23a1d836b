import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlNumber } from '../connectors/clickhouse/sqlLiteral.ts';
import { exchangeLedger, sharingScorecard } from '../connectors/clickhouse/tables/exchange.ts';
import { deadLetters, lateEvents, windowPartials } from '../connectors/clickhouse/tables/layers.ts';
import { CityOpsError } from '../errors.ts';
import { explainUnreadable } from '../server/historyQuery.ts';
import { cityDayStart, cityPeriodSql, DAY_MS } from './cityCalendar.ts';

/** What the governance page shows over the last `days` city days (times are epoch ms). */
export interface Governance {
  days: number;
  from: number;
  to: number;
  /** The department that asked, or null for the operations centre (which sees every row). */
  department: string | null;
  /** Per source: whether it could be read, and why not. */
  sources: Record<GovernanceSource, { available: boolean; note?: string }>;
  /**
   * Exchange transactions per city day, city-wide: records the providers sent (accepted into the cleaned
   * layer, on time or late, and rejected to the dead letters; by event time) and what the exchange
   * delivered to its consumers (the ledger's records and deliveries, by delivery time).
   */
  transactions: Array<{
    day: number;
    accepted: number;
    rejected: number;
    delivered: number;
    deliveries: number;
  }>;
  /** Each provider's daily scorecard rows (`city.sharing_scorecard`, period `day`). */
  scores: Array<{
    provider: string;
    resource: string;
    day: number;
    score: number;
    validity: number;
    completeness: number;
    freshness: number;
    answer_score: number;
    accepted: number;
    rejected: number;
  }>;
  /** The ledger's flows over the period: provider -> consumer, successful deliveries only. */
  flows: Array<{ provider: string; consumer: string; records: number; bytes: number; deliveries: number }>;
  /** Each consumer's use per day: records and deliveries received. */
  use: Array<{ consumer: string; day: number; records: number; deliveries: number }>;
  /**
   * Case handling per department (docs/cases.md), over the cases opened in the period: a case counts for
   * every department it was dispatched to at opening.
   */
  cases: Array<{
    department: string;
    cases: number;
    acknowledged: number;
    mean_ack_s: number;
    closed: number;
    mean_close_s: number;
    closure_rate: number;
    on_time_closure_rate: number;
  }>;
  /** The departments' names, from the catalogue the server follows (empty without one). */
  names: Record<string, { zh: string; en: string }>;
}

export type GovernanceSource = 'windows' | 'dead_letters' | 'ledger' | 'scorecard' | 'cases';

/** The periods the page offers, in city days. */
export const GOVERNANCE_DAYS = [1, 7, 30] as const;

type Row = Record<string, string | number>;

/**
 * Reads the governance figures for the last `days` city days (today included) as the analyst. A source
 * that cannot be read gives empty rows and a note, as the history does: the page shows what it has.
 * Counting by `FINAL` is what keeps a replayed write (the engine's exactly-once path) from counting twice.
 */
export async function queryGovernance(
  client: ClickHouseClient,
  database: string,
  days: number,
  now = Date.now(),
): Promise<Governance> {
  if (!(GOVERNANCE_DAYS as readonly number[]).includes(days))
    throw new CityOpsError('INVALID_OPTIONS', `days must be one of ${GOVERNANCE_DAYS.join(', ')}`);
  const from = cityDayStart(now) - (days - 1) * DAY_MS;
  const db = sqlIdentifier(database);
  const fromSql = `toDateTime(${sqlNumber(from / 1000)})`;
  // Up to now: a record dated ahead of the clock (a provider's clock off) is not counted in a day to come.
  const within = (column: string) =>
    `${column} >= ${fromSql} AND ${column} <= toDateTime(${sqlNumber(Math.floor(now / 1000))})`;
  const day = (column: string) => `toUInt64(${cityPeriodSql(column, 86_400)}) * 1000`;
  const answer: Governance = {
    days,
    from,
    to: now,
    department: null,
    sources: {
      windows: { available: true },
      dead_letters: { available: true },
      ledger: { available: true },
      scorecard: { available: true },
      cases: { available: true },
    },
    transactions: [],
    scores: [],
    flows: [],
    use: [],
    cases: [],
    names: {},
  };
  const read = async (source: GovernanceSource, table: string, sql: string): Promise<Row[]> => {
    try {
      return await selectRows<Row>(client, sql);
    } catch (error) {
      answer.sources[source] = { available: false, note: explainUnreadable(error, `${database}.${table}`) };
      return [];
    }
  };
  const [windowRows, lateRows, rejectedRows, ledgerRows, scoreRows, caseRows] = await Promise.all([
    read(
      'windows',
      windowPartials.name,
      `SELECT ${day('window_start')} AS day, sum(events) AS n FROM ${db}.${windowPartials.name} FINAL
       WHERE ${within('window_start')} GROUP BY day`,
    ),
    read(
      'windows',
      lateEvents.name,
      `SELECT ${day('ts')} AS day, count() AS n FROM ${db}.${lateEvents.name} FINAL
       WHERE ${within('ts')} GROUP BY day`,
    ),
    read(
      'dead_letters',
      deadLetters.name,
      // Counted by source record: a dead letter written again (a retry, another month's part) counts once.
      `SELECT ${day('message_ts')} AS day, uniqExact(topic, source_partition, source_offset) AS n
       FROM ${db}.${deadLetters.name} WHERE ${within('message_ts')} GROUP BY day`,
    ),
    read(
      'ledger',
      exchangeLedger.name,
      `SELECT provider, consumer, ${day('delivered_at')} AS day, sum(records) AS records, sum(bytes) AS bytes,
              count() AS deliveries
       FROM ${db}.${exchangeLedger.name} FINAL
       WHERE ${within('delivered_at')} AND succeeded = 1 GROUP BY provider, consumer, day`,
    ),
    read(
      'scorecard',
      sharingScorecard.name,
      `SELECT provider, resource, toUInt64(start) * 1000 AS day, score, validity, completeness, freshness,
              answer_score, accepted, rejected
       FROM ${db}.${sharingScorecard.name} FINAL
       WHERE period = 'day' AND ${within('start')} ORDER BY provider, resource, day`,
    ),
    read(
      'cases',
      'case_state',
      `SELECT department, count() AS cases, countIf(acknowledged_ms > 0) AS acknowledged,
              sumIf(acknowledged_ms - opened_ms, acknowledged_ms > 0) AS ack_ms,
              countIf(last_event = 'closed') AS closed,
              sumIf(closed_ms - opened_ms, last_event = 'closed') AS close_ms,
              countIf(last_event = 'closed' AND closed_ms <= close_deadline_ms) AS on_time
       FROM ${db}.case_state ARRAY JOIN departments AS department
       WHERE opened_ms >= ${sqlNumber(from)} AND opened_ms <= ${sqlNumber(now)} GROUP BY department ORDER BY department`,
    ),
  ]);
  answer.cases = caseRows.map((r) => {
    const [cases, acknowledged, closed] = [
      Number(r['cases']),
      Number(r['acknowledged']),
      Number(r['closed']),
    ];
    return {
      department: String(r['department']),
      cases,
      acknowledged,
      mean_ack_s: acknowledged === 0 ? 0 : Number(r['ack_ms']) / acknowledged / 1000,
      closed,
      mean_close_s: closed === 0 ? 0 : Number(r['close_ms']) / closed / 1000,
      closure_rate: cases === 0 ? 0 : closed / cases,
      on_time_closure_rate: cases === 0 ? 0 : Number(r['on_time']) / cases,
    };
  });
  answer.transactions = perDay(from, days, windowRows, lateRows, rejectedRows, ledgerRows);
  answer.scores = scoreRows.map((r) => ({
    provider: String(r['provider']),
    resource: String(r['resource']),
    day: Number(r['day']),
    score: Number(r['score']),
    validity: Number(r['validity']),
    completeness: Number(r['completeness']),
    freshness: Number(r['freshness']),
    answer_score: Number(r['answer_score']),
    accepted: Number(r['accepted']),
    rejected: Number(r['rejected']),
  }));
  answer.flows = flowsOf(ledgerRows);
  answer.use = useOf(ledgerRows);
  return answer;
}

function perDay(
  from: number,
  days: number,
  windowRows: Row[],
  lateRows: Row[],
  rejectedRows: Row[],
  ledgerRows: Row[],
): Governance['transactions'] {
  const out = Array.from({ length: days }, (_, i) => ({
    day: from + i * DAY_MS,
    accepted: 0,
    rejected: 0,
    delivered: 0,
    deliveries: 0,
  }));
  // A record stamped in the future (a provider's clock ahead) is counted on no day of the page.
  const at = (r: Row) => out[Math.round((Number(r['day']) - from) / DAY_MS)];
  for (const r of [...windowRows, ...lateRows]) {
    const d = at(r);
    if (d) d.accepted += Number(r['n']);
  }
  for (const r of rejectedRows) {
    const d = at(r);
    if (d) d.rejected += Number(r['n']);
  }
  for (const r of ledgerRows) {
    const d = at(r);
    if (!d) continue;
    d.delivered += Number(r['records']);
    d.deliveries += Number(r['deliveries']);
  }
  return out;
}

function flowsOf(ledgerRows: Row[]): Governance['flows'] {
  const flows = new Map<string, Governance['flows'][number]>();
  for (const r of ledgerRows) {
    const provider = String(r['provider']);
    const consumer = String(r['consumer']);
    const key = `${provider}\u0000${consumer}`;
    let flow = flows.get(key);
    if (!flow) {
      flow = { provider, consumer, records: 0, bytes: 0, deliveries: 0 };
      flows.set(key, flow);
    }
    flow.records += Number(r['records']);
    flow.bytes += Number(r['bytes']);
    flow.deliveries += Number(r['deliveries']);
  }
  return [...flows.values()].sort((a, b) => b.records - a.records);
}

function useOf(ledgerRows: Row[]): Governance['use'] {
  const use = new Map<string, Governance['use'][number]>();
  for (const r of ledgerRows) {
    const consumer = String(r['consumer']);
    const day = Number(r['day']);
    const key = `${consumer}\u0000${day}`;
    let u = use.get(key);
    if (!u) {
      u = { consumer, day, records: 0, deliveries: 0 };
      use.set(key, u);
    }
    u.records += Number(r['records']);
    u.deliveries += Number(r['deliveries']);
  }
  return [...use.values()].sort((a, b) => a.consumer.localeCompare(b.consumer) || a.day - b.day);
}

/**
 * What a principal sees of the governance figures. The operations centre sees every row. A department
 * sees the city-wide transaction totals (counts, no data), its own scorecard as a provider, the flows it
 * provides or receives, and its own use: responsibility follows handling, and another department's
 * exchanges are that department's business.
 */
export function governanceFor(
  all: Governance,
  department: string | undefined,
  catalogue?: Pick<Catalogue, 'departments'>,
): Governance {
  const names = Object.fromEntries(
    (catalogue?.departments ?? []).map((d) => [d.id, { zh: d.name_zh, en: d.name_en }]),
  );
  if (department === undefined) return { ...all, names };
  return {
    ...all,
    names,
    department,
    scores: all.scores.filter((s) => s.provider === department),
    flows: all.flows.filter((f) => f.provider === department || f.consumer === department),
    use: all.use.filter((u) => u.consumer === department),
    cases: all.cases.filter((c) => c.department === department),
  };
}
