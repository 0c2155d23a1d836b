/**
 * The integration layer: the three streams joined, written by the engine's finalizer once every input
 * partition's watermark has passed the minute (or the incident's time band), so each row is final.
 * Rows are keyed deterministically; a recomputation writes the same row again (ReplacingMergeTree).
 */
export const statements = (db: { city: string; restricted: string }): string[] => {
  const { city } = db;
  return [
    `CREATE TABLE IF NOT EXISTS ${city}.district_pulse (
      district String, window_start DateTime,
      transport_events UInt64, vehicles_seen UInt64, speed_sum Float64, speed_count UInt64,
      mean_speed_kmh Nullable(Float64),
      event_reports UInt64, incidents_opened UInt64, incidents_closed UInt64, incidents_open UInt64,
      severe_reports UInt64,
      population_reports UInt64, people_present UInt64, inflow UInt64, outflow UInt64, net_inflow Int64,
      computed_at DateTime
    ) ENGINE = ReplacingMergeTree(computed_at) PARTITION BY toYYYYMMDD(window_start)
      ORDER BY (district, window_start)`,

    `CREATE TABLE IF NOT EXISTS ${city}.incident_impact (
      incident_id String, report_id String, ts DateTime, ts_ms UInt64, district String, category String,
      severity UInt8, lat Float64, lon Float64, cell String, radius_m Float64, band_ms UInt64,
      vehicles UInt64, vehicle_observations UInt64, nearest_vehicles String,
      people_present UInt64, population_cells UInt64, computed_at DateTime
    ) ENGINE = ReplacingMergeTree(computed_at) PARTITION BY toYYYYMMDD(ts) ORDER BY (incident_id)`,

    // The incidents opened and not closed as of `through`, one snapshot per finalized range of
    // district_pulse (see engine/pipeline/pulseInsert.ts); the row with an empty incident_id marks it taken.
    `CREATE TABLE IF NOT EXISTS ${city}.open_incidents (
      through DateTime, incident_id String, district String
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(through) ORDER BY (through, incident_id)`,

    `CREATE TABLE IF NOT EXISTS ${city}.finalizer_progress (
      what String, finalized_through_ms UInt64, updated_at DateTime
    ) ENGINE = ReplacingMergeTree(finalized_through_ms) ORDER BY (what)`,
  ];
};
