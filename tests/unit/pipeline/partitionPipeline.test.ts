import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchResult, DISTRICT_BY_CODE, LABEL_BY_CODE } from '../../../engine/pipeline/batchWorker.ts';
import {
  type CommitMetadata,
  PartitionPipeline,
  type PipelineDrain,
  parseCommitMetadata,
} from '../../../engine/pipeline/partitionPipeline.ts';

const TIMING = { windowSizeMs: 60_000, graceMs: 5_000, outOfOrdernessMs: 5_000 };
const T0 = Date.UTC(2026, 10, 26, 0, 0, 0);
const TOPIC = 'city.transport';

/** One message of the partition: accepted (with its record) or a dead letter (undefined). */
interface Message {
  readonly offset: number;
  readonly record?: { id: string; ts: number; district: string; vehicle: string; speed: number };
}

function batchResult(messages: readonly Message[]): BatchResult {
  const accepted = messages.filter((m) => m.record !== undefined);
  const n = accepted.length;
  const col = <T>(f: (m: Message) => T) => accepted.map(f);
  return {
    stream: 'transport',
    partition: 0,
    firstOffset: messages[0]!.offset,
    lastOffset: messages[messages.length - 1]!.offset,
    accepted: {
      count: n,
      offsets: Float64Array.from(col((m) => m.offset)),
      ts: Float64Array.from(col((m) => m.record!.ts)),
      ids: col((m) => m.record!.id),
      entities: col((m) => m.record!.vehicle),
      districtCodes: Uint8Array.from(col((m) => DISTRICT_BY_CODE.indexOf(m.record!.district))),
      lat: new Float64Array(n).fill(22.5),
      lon: new Float64Array(n).fill(114),
      measure: Float64Array.from(col((m) => m.record!.speed)),
      labelCodes: new Uint8Array(n).fill(LABEL_BY_CODE.indexOf('bus')),
      inflow: new Float64Array(n),
      outflow: new Float64Array(n),
    },
    atomic: { bytes: new Uint8Array(0), rows: 0 },
    restricted: { bytes: new Uint8Array(0), rows: 0 },
    deadLetters: messages
      .filter((m) => m.record === undefined)
      .map((m) => ({
        offset: m.offset,
        reason: 'invalid_json',
        detail: '',
        key: '',
        messageTs: 0,
        bytes: 1,
        payload: '',
        rawPayload: '',
      })),
    incidents: [],
  };
}

/** A partition's messages: mostly in order with bounded disorder, some late records, repeats and dead letters. */
const partitionMessages = fc
  .array(
    fc.record({
      step: fc.integer({ min: 0, max: 2_000 }),
      jitter: fc.integer({ min: 0, max: 4_000 }),
      kind: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'late', 'repeat', 'dead'),
      district: fc.constantFrom('440303', '440304', 'outside'),
      vehicle: fc.integer({ min: 0, max: 9 }),
      speed: fc.integer({ min: 0, max: 90 }),
      back: fc.integer({ min: 1, max: 30 }),
    }),
    { minLength: 20, maxLength: 400 },
  )
  .map((specs) => {
    const messages: Message[] = [];
    let clock = T0;
    specs.forEach((s, offset) => {
      clock += s.step;
      const earlier = messages.filter((m) => m.record);
      if (s.kind === 'dead') {
        messages.push({ offset });
      } else if (s.kind === 'repeat' && earlier.length > 0) {
        messages.push({ offset, record: earlier[Math.max(0, earlier.length - s.back)]!.record! });
      } else {
        const ts = s.kind === 'late' ? clock - 90_000 : clock - s.jitter;
        messages.push({
          offset,
          record: { id: `t-${offset}`, ts, district: s.district, vehicle: `v${s.vehicle}`, speed: s.speed },
        });
      }
    });
    return messages;
  });

/** Cuts messages into consecutive batches at the given (sorted, deduplicated) cut points. */
function split(messages: readonly Message[], cuts: readonly number[]): Message[][] {
  const points = [...new Set(cuts.map((c) => c % messages.length))]
    .filter((c) => c > 0)
    .sort((a, b) => a - b);
  const batches: Message[][] = [];
  let from = 0;
  for (const p of [...points, messages.length]) {
    if (p > from) batches.push(messages.slice(from, p));
    from = p;
  }
  return batches;
}

interface Store {
  /** Final window rows by (district, window_start), every version written. */
  windows: Map<string, string[]>;
  late: Set<number>;
}

function write(store: Store, drain: PipelineDrain): void {
  for (const row of drain.windowRows) {
    const key = `${row.district}|${row.window_start}`;
    const { revision: _revision, ...content } = row;
    store.windows.set(key, [...(store.windows.get(key) ?? []), JSON.stringify(content)]);
  }
  for (const line of drain.lateTsv.split('\n').filter(Boolean)) store.late.add(Number(line.split('\t')[8]));
}

function endOfInput(pipeline: PartitionPipeline): void {
  pipeline.advanceWatermark(Number.MAX_SAFE_INTEGER);
}

describe('PartitionPipeline', () => {
  it('a restart from any committed offset re-derives exactly the windows of an uninterrupted run', () => {
    fc.assert(
      fc.property(
        partitionMessages,
        fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.boolean(),
        (messages, cutsA, cutsB, crashAt, lastFlushLost) => {
          // Reference: one run, no crash.
          const reference: Store = { windows: new Map(), late: new Set() };
          const a = new PartitionPipeline('transport', TOPIC, 0, TIMING, undefined, 0);
          for (const batch of split(messages, cutsA)) a.apply(batchResult(batch));
          endOfInput(a);
          write(reference, a.drain());

          // A run that flushes after every batch and crashes after `crashAt` batches; the last flush may
          // have written its rows and crashed before committing.
          const store: Store = { windows: new Map(), late: new Set() };
          const batches = split(messages, cutsA);
          const crashAfter = crashAt % (batches.length + 1);
          const b = new PartitionPipeline('transport', TOPIC, 0, TIMING, undefined, 0);
          let committed: { offset: number; metadata: CommitMetadata } | undefined;
          for (let i = 0; i < crashAfter; i++) {
            b.apply(batchResult(batches[i]!));
            const drain = b.drain();
            write(store, drain);
            if (!(lastFlushLost && i === crashAfter - 1) && drain.commit) committed = drain.commit;
          }
          // Restart from the commit, with the metadata as it travels through Kafka (a string).
          const metadata = committed ? parseCommitMetadata(JSON.stringify(committed.metadata)) : undefined;
          const c = new PartitionPipeline('transport', TOPIC, 0, TIMING, metadata, 1_000_000);
          const rest = messages.filter((m) => m.offset >= (committed?.offset ?? 0));
          if (rest.length > 0) for (const batch of split(rest, cutsB)) c.apply(batchResult(batch));
          endOfInput(c);
          write(store, c.drain());

          expect([...store.windows.keys()].sort()).toEqual([...reference.windows.keys()].sort());
          for (const [key, versions] of store.windows) {
            // Every version ever written of a window equals the uninterrupted run's: no partial overwrite.
            for (const version of versions) expect(version, key).toBe(reference.windows.get(key)![0]);
          }
          expect([...store.late].sort((x, y) => x - y)).toEqual([...reference.late].sort((x, y) => x - y));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts each event id once per window and reports records behind watermark - grace as late', () => {
    const p = new PartitionPipeline('transport', TOPIC, 0, TIMING, undefined, 0);
    const r = (offset: number, id: string, ts: number) => ({
      offset,
      record: { id, ts, district: '440304', vehicle: 'v1', speed: 30 },
    });
    p.apply(
      batchResult([r(0, 'a', T0 + 1_000), r(1, 'b', T0 + 2_000), r(2, 'a', T0 + 1_000), { offset: 3 }]),
    );
    p.apply(batchResult([r(4, 'c', T0 + 70_000), r(5, 'd', T0 + 3_000)])); // d: watermark 65 s - grace 5 s = 60 s > its window end? no: end 60 s <= 60 s: late
    endOfInput(p);
    const drain = p.drain();
    const first = drain.windowRows.find((w) => w.window_start === T0)!;
    expect(first).toMatchObject({ events: 2, distinct_keys: 1, speed_sum: 60, speed_count: 2 });
    expect(drain.lateCount).toBe(1);
    expect(drain.lateTsv).toContain('\td\t');
    expect(drain.deadLetters.map((d) => d.offset)).toEqual([3]);
  });

  it('commits below the oldest record an open window still holds, with the watermark before it', () => {
    const p = new PartitionPipeline('transport', TOPIC, 0, TIMING, undefined, 0);
    const r = (offset: number, ts: number) => ({
      offset,
      record: { id: `t${offset}`, ts, district: '440304', vehicle: 'v', speed: 1 },
    });
    p.apply(batchResult([r(0, T0 + 1_000), r(1, T0 + 61_000), r(2, T0 + 62_000)]));
    // Window [0, 60 s) is open (watermark 57 s), so nothing may be committed past offset 0.
    expect(p.drain().commit).toEqual({ offset: 0, metadata: { v: 1, wm: null, closed: T0 + 57_000 } });
    p.apply(batchResult([r(3, T0 + 75_000)])); // watermark 70 s: closes [0, 60 s)
    expect(p.drain().commit).toEqual({
      offset: 1,
      metadata: { v: 1, wm: T0 + 1_000 - 5_000, closed: T0 + 70_000 },
    });
  });
});
