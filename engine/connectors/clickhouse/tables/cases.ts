import type { CaseEvent } from '../../../cases/caseModel.ts';
import type { TableDefinition } from './table.ts';

/**
 * Every event of every case (docs/cases.md), as the topic `city.case-events` holds them: written again
 * after a restart, so the key (case_id, seq) collapses repeats.
 */
export const caseEvents: TableDefinition = {
  name: 'case_events',
  database: 'city',
  columns: [
    'case_id String',
    'seq UInt32',
    'type String',
    'at_ms UInt64',
    'at DateTime',
    'by String',
    'alert_id String',
    'place String',
    'severity String',
    'level UInt8',
    'departments Array(String)',
    'deadline_ms UInt64',
    'note String',
    'alert String',
    'action_id String',
  ],
  engine: 'ReplacingMergeTree PARTITION BY toYYYYMM(at) ORDER BY (case_id, seq)',
};

/** A case event as a JSONEachRow row of `case_events`. */
export function caseEventRow(e: CaseEvent): Record<string, unknown> {
  return { ...e, at: Math.floor(e.at_ms / 1000) };
}

/**
 * Case handling in the sharing assessment (docs/cases.md, "Indicators"): per department and period of the
 * city's calendar, over the cases opened in it. Scored again at each pass until the period is old enough
 * to leave the pass's range; the last pass's row wins.
 */
export const caseScorecard: TableDefinition = {
  name: 'case_scorecard',
  database: 'city',
  columns: [
    'period String',
    'start DateTime',
    'department String',
    'cases UInt64',
    'acknowledged UInt64',
    'closed UInt64',
    'on_time UInt64',
    'acknowledgement_rate Float64',
    'closure_rate Float64',
    'on_time_closure_rate Float64',
    'mean_ack_s Float64',
    'mean_close_s Float64',
    'score Float64',
    'computed_at DateTime',
  ],
  engine: 'ReplacingMergeTree(computed_at) PARTITION BY toYYYYMM(start) ORDER BY (period, department, start)',
};
