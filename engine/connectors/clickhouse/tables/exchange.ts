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
