import type { z } from 'zod';
import {
  type CityEventRecord,
  MAX_EVENT_TIME,
  MAX_RECORD_BYTES,
  MIN_EVENT_TIME,
  type PopulationRecord,
  RECORD_SCHEMAS,
  type TransportRecord,
} from './exchangeRecords.ts';
import { fastAccept } from './fastAccept.ts';
import type { StreamName } from './topics.ts';

const utf8 = new TextDecoder('utf-8');

/** Faults a publisher's record can carry, each dead-lettered with this reason by `decodeRecord`. */
export const RECORD_FAULTS = [
  'empty',
  'oversized',
  'invalid_json',
  'not_an_object',
  'missing_field',
  'wrong_type',
  'invalid_value',
  'impossible_timestamp',
  'impossible_coordinates',
  'clock_skew',
  'too_old',
] as const;

/**
 * Why a record went to the dead letters. Stable names: they are stored and counted by these. Besides the
 * record faults, `enrichment_failed`: the record passed the contract, then computing its district or cell
 * failed (a defect of ours, kept with the record rather than stopping its partition).
 */
export const DEAD_LETTER_REASONS = [...RECORD_FAULTS, 'enrichment_failed'] as const;

export type RecordFault = (typeof RECORD_FAULTS)[number];
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** Default of `RecordClock.skewMs`: how far an event time may run ahead of the exchange's clock. */
export const DEFAULT_CLOCK_SKEW_MS = 2 * 60_000;
/**
 * Default of `RecordClock.maxAgeMs`: 90 days, the retention the layers are sized for. Also what keeps an
 * insert inside ClickHouse's limit of 100 partitions per insert (the atomic tables are partitioned by day).
 */
export const DEFAULT_MAX_EVENT_AGE_MS = 90 * 86_400_000;

/**
 * The clock a record's event time is judged against. The reference is the Kafka message's timestamp (the
 * broker's append time on our input topics, so a replay judges exactly as the first run did) but never
 * later than `now`, the engine's ingest clock: a zero, missing or forged timestamp cannot lift the limit.
 */
export interface RecordClock {
  /** The engine's wall clock when the batch was taken, epoch ms. */
  readonly now: number;
  /** An event time may be at most this far after the reference, ms. */
  readonly skewMs: number;
  /** And at most this far before it, ms. */
  readonly maxAgeMs: number;
}

/** The clock of a batch taken now, with the defaults. */
export function recordClock(
  now = Date.now(),
  skewMs = DEFAULT_CLOCK_SKEW_MS,
  maxAgeMs = DEFAULT_MAX_EVENT_AGE_MS,
): RecordClock {
  return { now, skewMs, maxAgeMs };
}

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
 * @param messageTimestamp the Kafka message timestamp (epoch ms; undefined or 0 when absent)
 * @param clock what the event time is judged against (see `RecordClock`)
 * @returns the parsed record and its event time in epoch ms, or the dead-letter reason and a detail that
 *   names the field, e.g. `{ reason: 'wrong_type', detail: 'lat: expected number, received string' }`.
 */
export function decodeRecord(
  stream: StreamName,
  value: Uint8Array | string | null | undefined,
  messageTimestamp: number | undefined,
  clock: RecordClock = recordClock(),
): DecodeResult {
  const read = readJsonObject(value);
  if (!read.ok) return read;
  const parsed = read.value;
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
  const reference =
    messageTimestamp !== undefined && messageTimestamp > 0
      ? Math.min(messageTimestamp, clock.now)
      : clock.now;
  if (ts > reference + clock.skewMs) {
    return {
      ok: false,
      reason: 'clock_skew',
      detail: `ts ${new Date(ts).toISOString()} is more than ${clock.skewMs / 1000} s after the exchange took the record (${new Date(reference).toISOString()}): check the sender's clock`,
    };
  }
  if (ts < reference - clock.maxAgeMs) {
    return {
      ok: false,
      reason: 'too_old',
      detail: `ts ${new Date(ts).toISOString()} is more than ${Math.round(clock.maxAgeMs / 86_400_000)} days before the exchange took the record (${new Date(reference).toISOString()}), beyond what the layers keep`,
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

/**
 * A message's value as a JSON object, or the dead-letter reason why it is not one (empty, oversized, not
 * JSON, not an object): the first checks of every feed.
 */
export function readJsonObject(
  value: Uint8Array | string | null | undefined,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: RecordFault; detail: string } {
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
    // V8 quotes the input in its message ('"张三丰 138..." is not valid JSON'): keep only where it broke.
    const detail = (error as Error).message.replace(
      /"[\s\S]*"(?:\.\.\.)?(?= is not valid JSON)/,
      '(the input)',
    );
    return { ok: false, reason: 'invalid_json', detail };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      reason: 'not_an_object',
      detail: `a record must be a JSON object, got ${describe(parsed)}`,
    };
  }
  return { ok: true, value: parsed as Record<string, unknown> };
}

/** The dead-letter reason and detail of a record's first schema problem. */
export function issueFault(issue: z.core.$ZodIssue | undefined): {
  ok: false;
  reason: RecordFault;
  detail: string;
} {
  return fromIssue(issue) as { ok: false; reason: RecordFault; detail: string };
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
