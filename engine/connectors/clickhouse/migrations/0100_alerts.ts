/**
 * The alert path's tables (issue 6), in the analysts' database (no personal data: payloads are built from
 * an allow-list):
 *
 * - `alerts`: every lifecycle event of the outbox (firing / resolved), one row per CloudEvent id;
 * - `alert_deliveries`: one row per delivery state per attempt (`sent`, `retrying`, `acknowledged`,
 *   `failed`); replays of the same state collapse (ReplacingMergeTree on event, endpoint, attempt, status);
 * - `alert_delivery_state`: a view with the current state of each (event, endpoint);
 * - `alert_dead_letters`: deliveries that exhausted their retry budget, with the payload to replay them.
 *
 * Idempotent (IF NOT EXISTS); runs on ClickHouse 18.16 and current releases.
 */
export const statements = (db: { city: string; restricted: string }): string[] => {
  const { city } = db;
  return [
    `CREATE TABLE IF NOT EXISTS ${city}.alerts (
      event_id String, alert_id String, type String, rule String, severity String, indicator String,
      district String, cell String, category String, title_en String, title_zh String,
      value Float64, threshold Float64, started_at DateTime, resolved_at Nullable(DateTime),
      event_time DateTime, published_at DateTime, payload String
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_time) ORDER BY (event_id)`,

    `CREATE TABLE IF NOT EXISTS ${city}.alert_deliveries (
      event_id String, alert_id String, event_type String, rule String, severity String, district String,
      department String, endpoint String, attempt UInt16, status String, http_status UInt16, error String,
      at DateTime, at_ms UInt64, next_attempt_at Nullable(DateTime), latency_ms UInt32
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(at) ORDER BY (event_id, endpoint, attempt, status)`,

    // The current state of each delivery: the latest row, ties (same millisecond) broken by the order of the
    // lifecycle (sent < retrying < failed, acknowledged).
    `CREATE VIEW IF NOT EXISTS ${city}.alert_delivery_state AS
      SELECT event_id, endpoint, any(alert_id) AS alert_id, any(event_type) AS event_type, any(rule) AS rule,
        any(department) AS department, argMax(state, rank) AS status, max(attempt) AS attempts,
        argMax(http_status, rank) AS last_http_status, argMax(error, rank) AS last_error,
        min(at) AS first_at, max(at) AS updated_at
      FROM (
        SELECT event_id, endpoint, alert_id, event_type, rule, department, attempt, http_status, error, at,
          status AS state, at_ms * 4 + multiIf(status = 'sent', 0, status = 'retrying', 1, 2) AS rank
        FROM ${city}.alert_deliveries
      )
      GROUP BY event_id, endpoint`,

    `CREATE TABLE IF NOT EXISTS ${city}.alert_dead_letters (
      event_id String, alert_id String, event_type String, rule String, department String, endpoint String,
      attempts UInt16, last_http_status UInt16, last_error String, first_attempt_at DateTime, at DateTime,
      payload String
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(at) ORDER BY (event_id, endpoint)`,
  ];
};
