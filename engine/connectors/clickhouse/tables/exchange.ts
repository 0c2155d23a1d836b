import type { TableDefinition } from './table.ts';

/**
 * The exchange's own records (issue 16). `grants` is append-only: a grant, and later its revocation, are
 * rows of the same id; the current state of a grant is its latest row (`recorded_at_ms`), and every
 * earlier row stays for audit. Times are kept to the second.
 */
export const grants: TableDefinition = {
  name: 'grants',
  database: 'city',
  columns: [
    'id String',
    'action String',
    'department String',
    'resource String',
    'items Array(String)',
    'purpose String',
    'approved_by String',
    'valid_from DateTime',
    'valid_until DateTime',
    'revoked_at Nullable(DateTime)',
    'recorded_by String',
    'recorded_at_ms UInt64',
  ],
  engine: 'MergeTree PARTITION BY toYYYYMM(valid_from) ORDER BY (id, recorded_at_ms)',
};

/**
 * The exchange ledger: one row per delivery to a consumer (a history answer, a webhook delivery), or per
 * consumer, class and interval for a stream (WebSocket frames). Each writer keeps one chain per consumer:
 * `seq` counts from 1 and `hash` is SHA-256 over the row's fields and `prev_hash` (engine/access/ledger.ts
 * defines it), so an altered, removed or inserted row breaks the chain (`city-ops ledger verify`).
 * A retried insert writes the same rows again; ReplacingMergeTree on the chain's key keeps one.
 */
export const exchangeLedger: TableDefinition = {
  name: 'exchange_ledger',
  database: 'city',
  columns: [
    'writer String',
    'consumer String',
    'seq UInt64',
    'provider String',
    'resource String',
    'exit String',
    'items Array(String)',
    'records UInt64',
    'bytes UInt64',
    'event_ms UInt64',
    'ingest_ms UInt64',
    'delivered_from_ms UInt64',
    'delivered_to_ms UInt64',
    'succeeded UInt8',
    'fault_code String',
    'prev_hash String',
    'hash String',
    'delivered_at DateTime',
  ],
  engine: 'ReplacingMergeTree PARTITION BY toYYYYMM(delivered_at) ORDER BY (writer, consumer, seq)',
};

/**
 * Requests for conditional classes and their answers (append-only, like `grants`): a request row, then an
 * answer row of the same id (`granted` with the grant's id, or `refused` with its legal basis). The
 * provider answers by `due_at`, 5 working days after the request.
 */
export const grantRequests: TableDefinition = {
  name: 'grant_requests',
  database: 'city',
  columns: [
    'id String',
    'action String',
    'department String',
    'provider String',
    'resource String',
    'items Array(String)',
    'purpose String',
    'requested_at DateTime',
    'due_at DateTime',
    'answered_at Nullable(DateTime)',
    'answered_by String',
    'legal_basis String',
    'grant_id String',
    'recorded_by String',
    'recorded_at_ms UInt64',
  ],
  engine: 'MergeTree PARTITION BY toYYYYMM(requested_at) ORDER BY (id, recorded_at_ms)',
};

/**
 * The sharing assessment (`city-ops access assess`): per input class and its provider, per hour and per
 * day, how the provider shared - volume, validity, completeness, freshness, answer time - and the
 * weighted score. A pass writes its periods again; the latest computation of a period stands.
 */
export const sharingScorecard: TableDefinition = {
  name: 'sharing_scorecard',
  database: 'city',
  columns: [
    'period String',
    'start DateTime',
    'provider String',
    'resource String',
    'accepted UInt64',
    'rejected UInt64',
    'validity Float64',
    'minutes UInt32',
    'completeness Float64',
    'fresh UInt64',
    'freshness Float64',
    'answered UInt64',
    'mean_answer_hours Float64',
    'answer_score Float64',
    'score Float64',
    'computed_at DateTime',
  ],
  engine:
    'ReplacingMergeTree(computed_at) PARTITION BY toYYYYMM(start) ORDER BY (period, provider, resource, start)',
};
