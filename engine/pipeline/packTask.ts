import { keyOf, type SourceMessage } from '../connectors/kafka/source.ts';
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_EVENT_AGE_MS, recordClock } from '../contract/decodeRecord.ts';
import type { StreamName } from '../contract/topics.ts';
import type { BatchTask } from './batchWorker.ts';

/**
 * Packing a poll's messages for the partition workers: grouped by partition, each group's keys and values
 * concatenated into two buffers that are transferred, not copied, to the worker.
 */
export function groupByPartition(messages: readonly SourceMessage[]): Map<string, SourceMessage[]> {
  const groups = new Map<string, SourceMessage[]>();
  for (const m of messages) {
    const key = keyOf(m);
    let group = groups.get(key);
    if (!group) {
      group = [];
      groups.set(key, group);
    }
    group.push(m);
  }
  return groups;
}

/** One byte field of every message, concatenated, with each one's length (-1 for null). */
function concatenate(
  messages: readonly SourceMessage[],
  field: (m: SourceMessage) => Uint8Array | null,
): { bytes: Uint8Array; lengths: Int32Array } {
  const lengths = new Int32Array(messages.length);
  let total = 0;
  for (const m of messages) total += field(m)?.length ?? 0;
  const bytes = new Uint8Array(total);
  let position = 0;
  for (let i = 0; i < messages.length; i++) {
    const part = field(messages[i]!);
    if (part === null) {
      lengths[i] = -1;
    } else {
      bytes.set(part, position);
      lengths[i] = part.length;
      position += part.length;
    }
  }
  return { bytes, lengths };
}

/** Packs messages of one partition into a task whose payload is one transferable buffer. */
export function packTask(
  stream: StreamName,
  topic: string,
  partition: number,
  messages: readonly SourceMessage[],
  limits: { readonly clockSkewMs: number; readonly maxEventAgeMs: number } = {
    clockSkewMs: DEFAULT_CLOCK_SKEW_MS,
    maxEventAgeMs: DEFAULT_MAX_EVENT_AGE_MS,
  },
): BatchTask {
  const n = messages.length;
  const offsets = new Float64Array(n);
  const timestamps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    offsets[i] = messages[i]!.offset;
    timestamps[i] = messages[i]!.timestamp;
  }
  const { bytes: keyPayload, lengths: keyLengths } = concatenate(messages, (m) => m.key);
  const { bytes: payload, lengths } = concatenate(messages, (m) => m.value);
  return {
    stream,
    topic,
    partition,
    offsets,
    timestamps,
    keyPayload,
    keyLengths,
    payload,
    lengths,
    clock: recordClock(Date.now(), limits.clockSkewMs, limits.maxEventAgeMs),
  };
}
