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
 * Positions are sorted by a 15-minute bucket of event time first, then by H3 cell: the finalizer's
 * interval join asks for "these cells, these minutes", and a key led by the cell alone made it read a
 * granule (8 192 rows) of every cell for the whole day; led by the bucket, it reads only the buckets the
 * minutes fall in.
 *
 * Every statement is idempotent (IF NOT EXISTS) and runs on ClickHouse 18.16 and current releases.
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
  const { city, restricted } = db;
  const source = `source_partition UInt16, source_offset UInt64, ingested_at DateTime`;
  return [
    `CREATE TABLE IF NOT EXISTS ${restricted}.events_raw (
      id String, incident_id String, ts DateTime, ts_ms UInt64,
      reporter_name String, reporter_phone String, reporter_id_number String,
      payload String, ${source}
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id, ts_ms, id)`,

    `CREATE TABLE IF NOT EXISTS ${city}.transport_atomic (
      id String, ts DateTime, ts_ms UInt64, vehicle String, mode String, route String,
      lat Float64, lon Float64, speed_kmh Nullable(Float32), occupancy Nullable(UInt16),
      district String, cell String, ${source}
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
      ORDER BY (toStartOfFifteenMinutes(ts), cell, ts_ms, id)`,

    `CREATE TABLE IF NOT EXISTS ${city}.events_atomic (
      id String, incident_id String, ts DateTime, ts_ms UInt64, category String, severity UInt8,
      status String, source String, lat Float64, lon Float64, district String, cell String,
      description String, reporter_name String, reporter_phone String, reporter_id_number String,
      has_reporter UInt8, ${source}
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id, ts_ms, id)`,

    `CREATE TABLE IF NOT EXISTS ${city}.population_atomic (
      id String, ts DateTime, ts_ms UInt64, cell String, lat Float64, lon Float64, district String,
      present UInt32, inflow UInt32, outflow UInt32, ${source}
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
      ORDER BY (toStartOfFifteenMinutes(ts), cell, ts_ms, id)`,

    `CREATE TABLE IF NOT EXISTS ${city}.dead_letters (
      topic String, source_partition UInt16, source_offset UInt64, reason String, detail String,
      message_key String, payload String, payload_bytes UInt32, message_ts DateTime, ingested_at DateTime
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (topic, source_partition, source_offset)`,

    `CREATE TABLE IF NOT EXISTS ${restricted}.dead_letters_raw (
      topic String, source_partition UInt16, source_offset UInt64, reason String,
      message_key String, payload String, payload_bytes UInt32, ingested_at DateTime
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (topic, source_partition, source_offset)`,

    `CREATE TABLE IF NOT EXISTS ${city}.window_partials (
      stream String, district String, window_start DateTime, window_end DateTime, source_partition UInt16,
      revision UInt32, events UInt64, distinct_keys UInt64, speed_sum Float64, speed_count UInt64,
      opened UInt64, closed UInt64, severe UInt64, present UInt64, inflow UInt64, outflow UInt64,
      emitted_at DateTime
    ) ENGINE = ReplacingMergeTree(revision) PARTITION BY toYYYYMMDD(window_start)
      ORDER BY (stream, district, window_start, source_partition)`,

    `CREATE TABLE IF NOT EXISTS ${city}.late_events (
      stream String, id String, ts DateTime, ts_ms UInt64, district String, window_start DateTime,
      watermark_ms UInt64, ${source}
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (stream, source_partition, source_offset)`,

    `CREATE TABLE IF NOT EXISTS ${city}.engine_progress (
      topic String, stream String, source_partition UInt16, committed_offset UInt64, watermark_ms UInt64,
      instance String, updated_at DateTime
    ) ENGINE = ReplacingMergeTree(watermark_ms) ORDER BY (topic, source_partition)`,

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
