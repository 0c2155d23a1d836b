import { caseEvents } from '../tables/cases.ts';
import { createTable } from '../tables/table.ts';

/**
 * Cases (docs/cases.md): their events, each case's state, and the indicators per department and place.
 * A case counts for every department it was dispatched to at opening (the routed ones). Idempotent.
 */
export const statements = (db: { city: string; restricted: string }): string[] => {
  const { city } = db;
  return [
    createTable(caseEvents, db),
    `CREATE VIEW IF NOT EXISTS ${city}.case_state AS
      SELECT case_id,
        minIf(at_ms, type = 'opened') AS opened_ms,
        anyIf(place, type = 'opened') AS place,
        anyIf(severity, type = 'opened') AS severity,
        anyIf(departments, type = 'opened') AS departments,
        anyIf(deadline_ms, type = 'opened') AS close_deadline_ms,
        minIf(at_ms, type = 'acknowledged') AS acknowledged_ms,
        argMax(type, seq) AS last_event,
        maxIf(at_ms, type = 'closed') AS closed_ms,
        countIf(type = 'escalated') AS escalations,
        countIf(type IN ('opened', 'joined')) AS alerts
      FROM ${city}.case_events FINAL
      GROUP BY case_id`,
    `CREATE VIEW IF NOT EXISTS ${city}.case_indicators AS
      SELECT department, place,
        count() AS cases,
        countIf(acknowledged_ms > 0) AS acknowledged,
        if(acknowledged = 0, 0, sumIf(acknowledged_ms - opened_ms, acknowledged_ms > 0) / acknowledged / 1000) AS mean_ack_s,
        countIf(last_event = 'closed') AS closed,
        if(closed = 0, 0, sumIf(closed_ms - opened_ms, last_event = 'closed') / closed / 1000) AS mean_close_s,
        closed / cases AS closure_rate,
        countIf(last_event = 'closed' AND closed_ms <= close_deadline_ms) / cases AS on_time_closure_rate
      FROM ${city}.case_state
      ARRAY JOIN departments AS department
      GROUP BY department, place`,
  ];
};
