import { alertId } from '../alerts/alertIdentity.ts';
import type { AlertTransition } from '../alerts/alertTransition.ts';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlNumber } from '../connectors/clickhouse/sqlLiteral.ts';
import { STREAM_NAMES, type StreamName } from '../contract/topics.ts';

/** The alert rule of a real-time source that has sent nothing for too long. */
export const SILENT_RULE = 'provider-silent';

/** When each input stream last delivered an accepted record (epoch ms; undefined: not in the lookback). */
export type LastDeliveries = ReadonlyMap<StreamName, number | undefined>;

/**
 * Follows the input streams' silences and turns them into alert transitions: `firing` once a stream that
 * delivered within the lookback has delivered nothing for `limitMs` (its update cycle times the cycles
 * allowed), addressed to its provider; `resolved` when it delivers again. The firing alert is remembered in this object, so a restart while a
 * stream is silent fires it again under the same id (which the dispatcher has settled) and cannot resolve
 * an alert it never saw fire.
 */
export class SilenceTracker {
  readonly #firing = new Map<StreamName, { transition: AlertTransition; last: number }>();

  constructor(
    private readonly catalogue: () => Catalogue,
    private readonly limitMs: number,
  ) {}

  transitions(latest: LastDeliveries, now: number): AlertTransition[] {
    const out: AlertTransition[] = [];
    for (const stream of STREAM_NAMES) {
      const seen = latest.get(stream);
      const firing = this.#firing.get(stream);
      // Nothing within the lookback: a silence that began before it is followed from the alert that fired
      // then; a source never seen (a new stack, a stream not started) is not a silence.
      const last = seen ?? firing?.last;
      if (last === undefined) continue;
      if (firing !== undefined && last > firing.last) {
        out.push({ ...firing.transition, type: 'resolved', resolved_at: last, at: last });
        this.#firing.delete(stream);
      } else if (firing === undefined && now - last > this.limitMs) {
        const resource = `input.${stream}`;
        const provider = this.catalogue().resources.find((r) => r.id === resource)?.provider ?? stream;
        const transition: AlertTransition = {
          type: 'firing',
          alert_id: alertId(SILENT_RULE, stream, last),
          rule: SILENT_RULE,
          severity: 'warning',
          indicator: `${stream}.minutes_silent`,
          condition: 'threshold',
          department: provider,
          title_en: `${provider}: no ${stream} records for ${Math.round((now - last) / 60_000)} minutes`,
          title_zh: `${provider}：${Math.round((now - last) / 60_000)}分钟未收到${stream}数据`,
          value: Math.round((now - last) / 60_000),
          threshold: Math.round(this.limitMs / 60_000),
          started_at: last + this.limitMs,
          at: last + this.limitMs,
        };
        this.#firing.set(stream, { transition, last });
        out.push(transition);
      }
    }
    return out;
  }
}

/**
 * When each stream last delivered, from its cleaned table: the newest `ingested_at` among records of the
 * last `lookbackMs` of event time (the table is ordered by event time, so the read stays small).
 */
export async function lastDeliveries(
  client: ClickHouseClient,
  database: string,
  now: number,
  lookbackMs: number,
): Promise<LastDeliveries> {
  const since = sqlNumber(Math.floor((now - lookbackMs) / 1000));
  const rows = await selectRows<{ stream: StreamName; last: string }>(
    client,
    STREAM_NAMES.map(
      (s) =>
        `SELECT '${s}' AS stream, toUInt32(max(ingested_at)) AS last FROM ${sqlIdentifier(database)}.${s}_atomic WHERE ts >= toDateTime(${since})`,
    ).join(' UNION ALL '),
  );
  return new Map(rows.map((r) => [r.stream, Number(r.last) > 0 ? Number(r.last) * 1000 : undefined]));
}
