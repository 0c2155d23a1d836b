import { INCIDENT_LIFECYCLE } from '../connectors/clickhouse/migrations/0001_layers.ts';
import { sqlNumber } from '../connectors/clickhouse/sqlLiteral.ts';
import { districtPulse } from '../connectors/clickhouse/tables/joined.ts';
import { columnNames } from '../connectors/clickhouse/tables/table.ts';

/**
 * The statements that finalize `district_pulse` for the minutes in [from, to) (epoch ms, whole minutes).
 *
 * The incident figures follow the `city.incidents` definition (first open report, last closed report,
 * district of the first report), read only for the incidents that can count in the range:
 * - those with a report at or after `from`;
 * - those in the `open_incidents` snapshot taken at `from`: opened and never closed as of then.
 * Any other incident has every report before `from` and is closed, so it counts in no minute of the range.
 * The cost follows the reports since `from` and the incidents open, not the history kept.
 *
 * Without a snapshot at `from` (the first range, or a store written by an older version), `snapshot` is
 * false and every incident is read once. The second statement writes the snapshot at `to`.
 */
export function pulseStatements(city: string, from: number, to: number, snapshot: boolean): string[] {
  const f = sqlNumber(Math.floor(from / 1000));
  const t = sqlNumber(Math.floor(to / 1000));
  const candidates = `(SELECT incident_id, ${INCIDENT_LIFECYCLE} FROM ${city}.events_atomic FINAL
      ${
        snapshot
          ? `WHERE incident_id IN (SELECT incident_id FROM ${city}.events_atomic WHERE ts >= toDateTime(${f}))
          OR incident_id IN (SELECT incident_id FROM ${city}.open_incidents WHERE through = toDateTime(${f}))`
          : ''
      }
      GROUP BY incident_id)`;
  return [
    pulseInsert(city, f, t, candidates),
    // The empty incident id marks the snapshot as taken, even when no incident is open.
    `INSERT INTO ${city}.open_incidents (through, incident_id, district)
     SELECT toDateTime(${t}), incident_id, district FROM ${candidates}
     WHERE opened_at != toDateTime(0) AND closed_at = toDateTime(0)
     UNION ALL SELECT toDateTime(${t}), '', ''`,
  ];
}

/** Whether the snapshot of open incidents at `at` (epoch ms) was taken. */
export function snapshotQuery(city: string, at: number): string {
  return `SELECT count() AS n FROM ${city}.open_incidents
    WHERE through = toDateTime(${sqlNumber(Math.floor(at / 1000))}) AND incident_id = ''`;
}

/**
 * Window partials of the three streams side by side, plus the incidents opened and closed in each minute
 * and open at its end (opened in it or before, and not closed in it or before). Every column is cast to
 * one type so the UNION ALL branches agree on ClickHouse 18.16.
 */
function pulseInsert(city: string, f: string, t: string, incidents: string): string {
  const zeros = (n: number) => Array.from({ length: n }, () => 'toUInt64(0)').join(', ');
  // Column order of each branch: district, window_start, t_events, vehicles, speed_sum, speed_count,
  // e_reports, opened, closed, open, severe, p_reports, present, inflow, outflow
  return `INSERT INTO ${city}.district_pulse (${columnNames(districtPulse).join(', ')})
  SELECT district, window_start,
    sum(t_events), sum(vehicles), sum(speed_sum), sum(speed_count),
    if(sum(speed_count) = 0, NULL, sum(speed_sum) / sum(speed_count)),
    sum(e_reports), sum(opened), sum(closed), sum(open_now), sum(severe),
    sum(p_reports), sum(present), sum(inflow), sum(outflow),
    toInt64(sum(inflow)) - toInt64(sum(outflow)), now()
  FROM (
    SELECT district, window_start,
      toUInt64(sumIf(events, stream = 'transport')) AS t_events,
      toUInt64(sumIf(distinct_keys, stream = 'transport')) AS vehicles,
      toFloat64(sumIf(speed_sum, stream = 'transport')) AS speed_sum,
      toUInt64(sumIf(speed_count, stream = 'transport')) AS speed_count,
      toUInt64(sumIf(events, stream = 'events')) AS e_reports,
      toUInt64(0) AS opened, toUInt64(0) AS closed, toUInt64(0) AS open_now,
      toUInt64(sumIf(severe, stream = 'events')) AS severe,
      toUInt64(sumIf(events, stream = 'population')) AS p_reports,
      toUInt64(sumIf(present, stream = 'population')) AS present,
      toUInt64(sumIf(inflow, stream = 'population')) AS inflow,
      toUInt64(sumIf(outflow, stream = 'population')) AS outflow
    FROM ${city}.window_partials FINAL
    WHERE window_start >= toDateTime(${f}) AND window_start < toDateTime(${t})
    GROUP BY district, window_start
    UNION ALL
    SELECT district, toStartOfMinute(opened_at) AS window_start, ${zeros(2)}, toFloat64(0), ${zeros(2)},
      toUInt64(count()), ${zeros(7)}
    FROM ${incidents}
    WHERE opened_at >= toDateTime(${f}) AND opened_at < toDateTime(${t})
    GROUP BY district, window_start
    UNION ALL
    SELECT district, toStartOfMinute(closed_at) AS window_start, ${zeros(2)}, toFloat64(0), ${zeros(3)},
      toUInt64(count()), ${zeros(6)}
    FROM ${incidents}
    WHERE closed_at >= toDateTime(${f}) AND closed_at < toDateTime(${t})
    GROUP BY district, window_start
    UNION ALL
    SELECT district, toDateTime(minute) AS window_start, ${zeros(2)}, toFloat64(0), ${zeros(4)},
      toUInt64(count()), ${zeros(5)}
    FROM (
      SELECT district, arrayJoin(arrayMap(i -> s + i * 60, range(if(e > s, toUInt32((e - s) / 60), 0)))) AS minute
      FROM (
        SELECT district,
          greatest(intDiv(toUInt32(opened_at), 60) * 60, ${f}) AS s,
          least(if(closed_at = toDateTime(0), ${t}, intDiv(toUInt32(closed_at), 60) * 60), ${t}) AS e
        FROM ${incidents}
        WHERE opened_at != toDateTime(0) AND opened_at < toDateTime(${t})
          AND (closed_at = toDateTime(0) OR closed_at >= toDateTime(${f}))
      )
    )
    GROUP BY district, window_start
  )
  GROUP BY district, window_start`;
}
