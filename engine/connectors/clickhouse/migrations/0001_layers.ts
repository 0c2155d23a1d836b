import { eventsAtomic, eventsRaw, populationAtomic, transportAtomic } from '../tables/atomic.ts';
import { deadLetters, deadLettersRaw, engineProgress, lateEvents, windowPartials } from '../tables/layers.ts';
import { createTable } from '../tables/table.ts';

/**
 * The layered store, as the city's data centre layers it:
 *
 * - raw ("stick to source"): `city_restricted.events_raw` (whole payloads, with personal data) and the dead
 *   letters (`city.dead_letters` masked, `city_restricted.dead_letters_raw` whole);
 * - cleaned / atomic: `city.transport_atomic`, `city.events_atomic` (masked), `city.population_atomic`,
 *   deduplicated by event id (ReplacingMergeTree; the views `city.transport`, `city.events`,
 *   `city.population` read them with FINAL);
 * - windows: `city.window_partials` (per source partition, final results only) and `city.late_events`;
 * - joined / integration: `city.district_pulse`, `city.incident_impact` (migration 0002 and the finalizer);
 * - marts: `city.district_minute`, `city.district_hour`, `city.incidents` (views).
 *
 * The tables are defined in ../tables/ (columns, engine and row encoder side by side). Every statement
 * is idempotent (IF NOT EXISTS) and runs on ClickHouse 18.16 and current releases.
 */

/**
 * An incident's lifecycle from its reports (grouped by incident_id): the district of its first report, its
 * first open report and its last closed report (1970-01-01 when there is none). `city.incidents` and the
 * finalizer's `district_pulse` both use it.
 */
export const INCIDENT_LIFECYCLE = `argMin(district, ts_ms) AS district,
        minIf(ts, status = 'open') AS opened_at,
        maxIf(ts, status = 'closed') AS closed_at`;

export const statements = (db: { city: string; restricted: string }): string[] => {
  const { city } = db;
  return [
    ...[eventsRaw, transportAtomic, eventsAtomic, populationAtomic].map((t) => createTable(t, db)),
    ...[deadLetters, deadLettersRaw, windowPartials, lateEvents, engineProgress].map((t) =>
      createTable(t, db),
    ),

    `CREATE VIEW IF NOT EXISTS ${city}.transport AS SELECT * FROM ${city}.transport_atomic FINAL`,
    `CREATE VIEW IF NOT EXISTS ${city}.events AS SELECT * FROM ${city}.events_atomic FINAL`,
    `CREATE VIEW IF NOT EXISTS ${city}.population AS SELECT * FROM ${city}.population_atomic FINAL`,

    `CREATE VIEW IF NOT EXISTS ${city}.district_minute AS
      SELECT stream, district, window_start, sum(events) AS events, sum(distinct_keys) AS distinct_keys
      FROM ${city}.window_partials FINAL
      GROUP BY stream, district, window_start`,

    `CREATE VIEW IF NOT EXISTS ${city}.district_hour AS
      SELECT stream, district, toStartOfHour(window_start) AS hour, sum(events) AS events
      FROM ${city}.window_partials FINAL
      GROUP BY stream, district, hour`,

    `CREATE VIEW IF NOT EXISTS ${city}.incidents AS
      SELECT
        incident_id,
        ${INCIDENT_LIFECYCLE},
        argMin(category, ts_ms) AS category,
        max(severity) AS max_severity,
        argMax(status, ts_ms) AS last_status,
        count() AS reports
      FROM ${city}.events_atomic FINAL
      GROUP BY incident_id`,
  ];
};
