// Test helpers shared by the operator tests: record builders, random-stream arbitraries and brute-force
// oracles that restate the documented semantics with plain arrays (no indexes, no incremental state).
import fc from 'fast-check';
import type { SourceRecord } from '../../../operators/time/SourceRecord.ts';
import type { TimeWindow } from '../../../operators/windows/WindowOutput.ts';

export interface Ev {
  readonly key: string;
  readonly v: number;
  readonly id: number;
}

let nextOffset = 0;

/** A record of source `s`, partition 0 by default, with a fresh offset. */
export function rec<T>(
  timestamp: number,
  value: T,
  at: Partial<Omit<SourceRecord<T>, 'value' | 'timestamp'>> = {},
) {
  return {
    source: at.source ?? 's',
    partition: at.partition ?? 0,
    offset: at.offset ?? nextOffset++,
    timestamp,
    value,
  } satisfies SourceRecord<T>;
}

/** One step of a test input: a record, a batch, or an external watermark. */
export type Step =
  | { readonly type: 'record'; readonly record: SourceRecord<Ev> }
  | { readonly type: 'batch'; readonly records: readonly SourceRecord<Ev>[] }
  | { readonly type: 'watermark'; readonly timestamp: number };

/**
 * Random out-of-order streams: timestamps in [-60, 300), three keys, two partitions of two sources, offsets
 * increasing per partition, exact re-deliveries (same id, time and key; new offset), random batches and
 * external watermarks.
 */
export const stepsArbitrary: fc.Arbitrary<Step[]> = fc
  .record({
    events: fc.array(
      fc.record({
        ts: fc.integer({ min: -60, max: 299 }),
        key: fc.constantFrom('x', 'y', 'z'),
        v: fc.integer({ min: -5, max: 20 }),
        sp: fc.integer({ min: 0, max: 3 }),
        duplicate: fc.boolean(),
        group: fc.integer({ min: 0, max: 3 }),
        watermarkAfter: fc.option(fc.integer({ min: -60, max: 320 }), { freq: 8 }),
      }),
      { maxLength: 60 },
    ),
  })
  .map(({ events }) => {
    const offsets = [0, 0, 0, 0];
    const steps: Step[] = [];
    const made: SourceRecord<Ev>[] = [];
    let batch: SourceRecord<Ev>[] = [];
    events.forEach((e, i) => {
      const original = e.duplicate && made.length > 0 ? made[(i * 7) % made.length]! : undefined;
      const sp = e.sp;
      const record: SourceRecord<Ev> = {
        source: sp < 2 ? 'a' : 'b',
        partition: sp % 2,
        offset: offsets[sp]!++,
        timestamp: original?.timestamp ?? e.ts,
        value: original?.value ?? { key: e.key, v: e.v, id: i },
      };
      made.push(record);
      batch.push(record);
      // group 0 flushes the batch: single records and batches of random length.
      if (e.group === 0 || i === events.length - 1) {
        steps.push(
          batch.length === 1 ? { type: 'record', record: batch[0]! } : { type: 'batch', records: batch },
        );
        batch = [];
      }
      if (e.watermarkAfter !== null) {
        if (batch.length > 0) {
          steps.push({ type: 'batch', records: batch });
          batch = [];
        }
        steps.push({ type: 'watermark', timestamp: e.watermarkAfter });
      }
    });
    return steps;
  });

export function recordsOf(steps: readonly Step[]): SourceRecord<Ev>[] {
  return steps.flatMap((s) => (s.type === 'record' ? [s.record] : s.type === 'batch' ? [...s.records] : []));
}

export interface OracleWindow {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly records: SourceRecord<Ev>[];
  /** Index of the step after which the window is closed. */
  closedAtStep: number;
}

export interface OracleLate {
  readonly offset: number;
  readonly source: string;
  readonly partition: number;
  readonly windows: TimeWindow[];
  readonly step: number;
}

export interface Oracle {
  readonly windows: OracleWindow[];
  readonly late: OracleLate[];
  readonly duplicates: number;
  /** Watermark after the last step (before flushing). */
  readonly watermark: number;
}

export interface WindowSemantics {
  readonly grace: number;
  readonly outOfOrderness: number;
  readonly fromRecords: boolean;
  readonly dedup: boolean;
}

/** Tumbling/hopping semantics by brute force: every candidate window start is enumerated. */
export function timeWindowOracle(
  steps: readonly Step[],
  size: number,
  advance: number,
  semantics: WindowSemantics,
): Oracle {
  const windows: OracleWindow[] = [];
  const late: OracleLate[] = [];
  let duplicates = 0;
  let watermark = Number.NEGATIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  const closeOpen = (step: number) => {
    for (const w of windows)
      if (w.closedAtStep < 0 && w.end <= watermark - semantics.grace) w.closedAtStep = step;
  };
  steps.forEach((step, index) => {
    if (step.type === 'watermark') {
      watermark = Math.max(watermark, step.timestamp);
      closeOpen(index);
      return;
    }
    for (const r of step.type === 'record' ? [step.record] : step.records) {
      maxTs = Math.max(maxTs, r.timestamp);
      if (semantics.fromRecords) watermark = Math.max(watermark, maxTs - semantics.outOfOrderness);
      closeOpen(index);
      const containing: TimeWindow[] = [];
      for (
        let start = Math.floor((r.timestamp - size) / advance) * advance;
        start <= r.timestamp;
        start += advance
      ) {
        if (start <= r.timestamp && r.timestamp < start + size) containing.push({ start, end: start + size });
      }
      const closed = containing.filter((w) => w.end <= watermark - semantics.grace);
      if (closed.length > 0) {
        late.push({
          offset: r.offset,
          source: r.source,
          partition: r.partition,
          windows: closed,
          step: index,
        });
      }
      let duplicate = false;
      for (const w of containing) {
        if (w.end <= watermark - semantics.grace) continue;
        let window = windows.find((x) => x.key === r.value.key && x.start === w.start && x.closedAtStep < 0);
        if (window === undefined) {
          window = { key: r.value.key, start: w.start, end: w.end, records: [], closedAtStep: -1 };
          windows.push(window);
        }
        if (semantics.dedup && window.records.some((x) => x.value.id === r.value.id)) {
          duplicate = true;
          continue;
        }
        window.records.push(r);
      }
      if (duplicate) duplicates++;
    }
  });
  return { windows, late, duplicates, watermark };
}

/** Session semantics by brute force: open sessions as plain lists, merged by overlap of [t, t + gap). */
export function sessionOracle(steps: readonly Step[], gap: number, semantics: WindowSemantics): Oracle {
  const windows: (OracleWindow & { start: number; end: number })[] = [];
  const late: OracleLate[] = [];
  let duplicates = 0;
  let watermark = Number.NEGATIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  const open = () => windows.filter((w) => w.closedAtStep < 0);
  const closeOpen = (step: number) => {
    for (const w of open()) if (w.end <= watermark - semantics.grace) w.closedAtStep = step;
  };
  steps.forEach((step, index) => {
    if (step.type === 'watermark') {
      watermark = Math.max(watermark, step.timestamp);
      closeOpen(index);
      return;
    }
    for (const r of step.type === 'record' ? [step.record] : step.records) {
      maxTs = Math.max(maxTs, r.timestamp);
      if (semantics.fromRecords) watermark = Math.max(watermark, maxTs - semantics.outOfOrderness);
      closeOpen(index);
      const t = r.timestamp;
      const overlapping = open().filter((w) => w.key === r.value.key && w.start < t + gap && w.end > t);
      if (overlapping.length === 0 && t + gap <= watermark - semantics.grace) {
        late.push({
          offset: r.offset,
          source: r.source,
          partition: r.partition,
          windows: [{ start: t, end: t + gap }],
          step: index,
        });
        continue;
      }
      if (semantics.dedup && overlapping.some((w) => w.records.some((x) => x.value.id === r.value.id))) {
        duplicates++;
        continue;
      }
      const merged = {
        key: r.value.key,
        start: Math.min(t, ...overlapping.map((w) => w.start)),
        end: Math.max(t + gap, ...overlapping.map((w) => w.end)),
        records: [...overlapping.flatMap((w) => w.records), r],
        closedAtStep: -1,
      };
      for (const w of overlapping) windows.splice(windows.indexOf(w), 1);
      windows.push(merged);
    }
  });
  return { windows, late, duplicates, watermark };
}

/** Drives a window processor through steps; returns each step's outputs, then the flush's. */
export function drive<O>(
  processor: {
    add(r: SourceRecord<Ev>): O[];
    addBatch(rs: readonly SourceRecord<Ev>[]): O[];
    advanceWatermark(t: number): O[];
    flush(): O[];
  },
  steps: readonly Step[],
  beforeFlush?: () => void,
): { perStep: O[][]; flushed: O[] } {
  const perStep = steps.map((step) =>
    step.type === 'record'
      ? processor.add(step.record)
      : step.type === 'batch'
        ? processor.addBatch(step.records)
        : processor.advanceWatermark(step.timestamp),
  );
  beforeFlush?.();
  return { perStep, flushed: processor.flush() };
}
