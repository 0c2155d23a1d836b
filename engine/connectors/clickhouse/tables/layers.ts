import { type DistrictWindowMeasures, WINDOW_MEASURES } from '../../../contract/aggregates.ts';
import type { StreamName } from '../../../contract/topics.ts';
import { tsvField } from '../sqlLiteral.ts';
import { SOURCE_COLUMNS, type TableDefinition } from './table.ts';

/**
 * The engine's other layers: dead letters (masked, and whole in the restricted database), the final
 * window results per source partition, the late records, and each partition's committed progress.
 * Their row encoders run once per row the main thread writes, so they take plain values.
 */

export const deadLetters: TableDefinition = {
  name: 'dead_letters',
  database: 'city',
  columns: [
    'topic String',
    'source_partition UInt16',
    'source_offset UInt64',
    'reason String',
    'detail String',
    'message_key String',
    'payload String',
    'payload_bytes UInt32',
    'message_ts DateTime',
    'ingested_at DateTime',
  ],
  engine: `ReplacingMergeTree PARTITION BY toYYYYMM(ingested_at)
      ORDER BY (topic, source_partition, source_offset)`,
};

/** A record that went to the dead letters, as both its tables keep it. */
export interface DeadLetter {
  readonly offset: number;
  readonly reason: string;
  readonly detail: string;
  readonly key: string;
  readonly messageTs: number;
  readonly bytes: number;
  /** Masked and truncated: for `city.dead_letters` and the dead-letter topic. */
  readonly payload: string;
  /** As received (up to the record size limit): for the restricted raw table only. */
  readonly rawPayload: string;
}

export function deadLetterRow(topic: string, partition: number, l: DeadLetter, now: number): string {
  return `${tsvField(topic)}\t${partition}\t${l.offset}\t${l.reason}\t${tsvField(l.detail)}\t${tsvField(l.key)}\t${tsvField(l.payload)}\t${l.bytes}\t${Math.floor(l.messageTs / 1000)}\t${now}\n`;
}

export const deadLettersRaw: TableDefinition = {
  name: 'dead_letters_raw',
  database: 'restricted',
  columns: [
    'topic String',
    'source_partition UInt16',
    'source_offset UInt64',
    'reason String',
    'message_key String',
    'payload String',
    'payload_bytes UInt32',
    'ingested_at DateTime',
  ],
  engine: `ReplacingMergeTree PARTITION BY toYYYYMM(ingested_at)
      ORDER BY (topic, source_partition, source_offset)`,
};

export function deadLetterRawRow(topic: string, partition: number, l: DeadLetter, now: number): string {
  return `${tsvField(topic)}\t${partition}\t${l.offset}\t${l.reason}\t${tsvField(l.key)}\t${tsvField(l.rawPayload)}\t${l.bytes}\t${now}\n`;
}

/** Final window results per source partition; a later revision replaces an earlier one. */
export const windowPartials: TableDefinition = {
  name: 'window_partials',
  database: 'city',
  columns: [
    'stream String',
    'district String',
    'window_start DateTime',
    'window_end DateTime',
    'source_partition UInt16',
    'revision UInt32',
    ...WINDOW_MEASURES.map((m) => `${m} ${m === 'speed_sum' ? 'Float64' : 'UInt64'}`),
    'emitted_at DateTime',
  ],
  engine: `ReplacingMergeTree(revision) PARTITION BY toYYYYMMDD(window_start)
      ORDER BY (stream, district, window_start, source_partition)`,
};

/** A final window result of one partition (epoch ms), as `window_partials` stores it. */
export interface WindowPartialRow extends DistrictWindowMeasures {
  readonly stream: StreamName;
  readonly district: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly source_partition: number;
  readonly revision: number;
}

export function windowPartialRow(w: WindowPartialRow, now: number): string {
  let measures = '';
  for (const m of WINDOW_MEASURES) measures += `\t${w[m]}`;
  return `${w.stream}\t${w.district}\t${w.window_start / 1000}\t${w.window_end / 1000}\t${w.source_partition}\t${w.revision}${measures}\t${now}\n`;
}

/** Records that arrived after their window closed (watermark - grace). */
export const lateEvents: TableDefinition = {
  name: 'late_events',
  database: 'city',
  columns: [
    'stream String',
    'id String',
    'ts DateTime',
    'ts_ms UInt64',
    'district String',
    'window_start DateTime',
    'watermark_ms UInt64',
    ...SOURCE_COLUMNS,
  ],
  engine: `ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
      ORDER BY (stream, source_partition, source_offset)`,
};

export function lateEventRow(
  stream: string,
  id: string,
  ts: number,
  district: string,
  windowStart: number,
  watermark: number,
  partition: number,
  offset: number,
  now: number,
): string {
  return `${stream}\t${tsvField(id)}\t${Math.floor(ts / 1000)}\t${ts}\t${district}\t${Math.floor(windowStart / 1000)}\t${Math.max(0, watermark)}\t${partition}\t${offset}\t${now}\n`;
}

/** Each input partition's committed offset and watermark, written after the commit. */
export const engineProgress: TableDefinition = {
  name: 'engine_progress',
  database: 'city',
  columns: [
    'topic String',
    'stream String',
    'source_partition UInt16',
    'committed_offset UInt64',
    'watermark_ms UInt64',
    'instance String',
    'updated_at DateTime',
  ],
  engine: 'ReplacingMergeTree(watermark_ms) ORDER BY (topic, source_partition)',
};

export function engineProgressRow(
  topic: string,
  stream: string,
  partition: number,
  offset: number,
  watermark: number,
  instance: string,
  now: number,
): string {
  return `${tsvField(topic)}\t${stream}\t${partition}\t${offset}\t${watermark}\t${tsvField(instance)}\t${now}\n`;
}
