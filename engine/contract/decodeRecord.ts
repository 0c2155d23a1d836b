import type { z } from 'zod';
import {
  type CityEventRecord,
  MAX_EVENT_TIME,
  MAX_FUTURE_SKEW_MS,
  MAX_RECORD_BYTES,
  MIN_EVENT_TIME,
  type PopulationRecord,
  RECORD_SCHEMAS,
  type TransportRecord,
} from './exchangeRecords.ts';
import { fastAccept } from './fastAccept.ts';
import type { StreamName } from './topics.ts';

const utf8 = new TextDecoder('utf-8');

/** Why a record went to the dead letters. Stable names: they are stored and counted by these. */
export const DEAD_LETTER_REASONS = [
  'empty',
  'oversized',
  'invalid_json',
  'not_an_object',
  'missing_field',
  'wrong_type',
  'invalid_value',
  'impossible_timestamp',
  'impossible_coordinates',
] as const;

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export type DecodedRecord =
  | { stream: 'transport'; record: TransportRecord; ts: number }
  | { stream: 'events'; record: CityEventRecord; ts: number }
  | { stream: 'population'; record: PopulationRecord; ts: number };

export type DecodeResult =
  | ({ ok: true } & DecodedRecord)
  | { ok: false; reason: DeadLetterReason; detail: string };

/**
 * Decodes and validates one Kafka message value against the exchange contract.
 *
 * @param messageTimestamp the Kafka message timestamp (epoch ms), against which an event time "in the
 *   future" is judged; pass undefined when unknown (then only the absolute bounds apply).
 * @returns the parsed record and its event time in epoch ms, or the dead-letter reason and a detail that
 *   names the field, e.g. `{ reason: 'wrong_type', detail: 'lat: expected number, received string' }`.
 */
export function decodeRecord(
  stream: StreamName,
  value: Uint8Array | string | null | undefined,
  messageTimestamp: number | undefined,
): DecodeResult {
  if (value === null || value === undefined || value.length === 0) {
    return { ok: false, reason: 'empty', detail: 'the message has no value' };
  }
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (size > MAX_RECORD_BYTES) {
    return { ok: false, reason: 'oversized', detail: `${size} bytes, the limit is ${MAX_RECORD_BYTES}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : utf8.decode(value));
  } catch (error) {
    return { ok: false, reason: 'invalid_json', detail: (error as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      reason: 'not_an_object',
      detail: `a record must be a JSON object, got ${describe(parsed)}`,
    };
  }
  // The common well-formed records are accepted by hand-written checks; everything else, and every
  // rejection with its reason, is zod's (see fastAccept.ts).
  let record = fastAccept(stream, parsed as Record<string, unknown>) as
    | TransportRecord
    | CityEventRecord
    | PopulationRecord
    | undefined;
  if (record === undefined) {
    const checked = RECORD_SCHEMAS[stream].safeParse(parsed);
    if (!checked.success) return fromIssue(checked.error.issues[0]);
    record = checked.data;
  }
  const ts = typeof record.ts === 'number' ? record.ts : Date.parse(record.ts);
  if (!Number.isFinite(ts) || ts < MIN_EVENT_TIME || ts >= MAX_EVENT_TIME) {
    return {
      ok: false,
      reason: 'impossible_timestamp',
      detail: `ts ${JSON.stringify(record.ts)} is not between 2000 and 2100`,
    };
  }
  if (messageTimestamp !== undefined && messageTimestamp > 0 && ts > messageTimestamp + MAX_FUTURE_SKEW_MS) {
    return {
      ok: false,
      reason: 'impossible_timestamp',
      detail: `ts ${new Date(ts).toISOString()} is more than 1 h after the message was sent (${new Date(messageTimestamp).toISOString()})`,
    };
  }
  if ('lat' in record && record.lat === 0 && record.lon === 0) {
    // (0, 0) is where broken GPS receivers report from ("null island"), never a place in a city.
    return {
      ok: false,
      reason: 'impossible_coordinates',
      detail: 'lat 0, lon 0 is the default of a broken GPS fix',
    };
  }
  return { ok: true, stream, record, ts } as DecodeResult;
}

function fromIssue(issue: z.core.$ZodIssue | undefined): DecodeResult {
  if (issue === undefined) return { ok: false, reason: 'invalid_value', detail: 'the record is invalid' };
  const path = issue.path.length > 0 ? issue.path.join('.') : 'record';
  const field = String(issue.path[0] ?? '');
  if (issue.code === 'invalid_type') {
    const missing = issue.message.includes('received undefined');
    return {
      ok: false,
      reason: missing ? 'missing_field' : 'wrong_type',
      detail: `${path}: ${issue.message}`,
    };
  }
  if ((field === 'lat' || field === 'lon') && (issue.code === 'too_big' || issue.code === 'too_small')) {
    return { ok: false, reason: 'impossible_coordinates', detail: `${path}: ${issue.message}` };
  }
  return { ok: false, reason: 'invalid_value', detail: `${path}: ${issue.message}` };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
