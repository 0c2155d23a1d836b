import type { SourceRecord } from '../../operators/time/SourceRecord.ts';
import { createWindowProcessor } from '../../operators/windows/createWindowProcessor.ts';
import { TumblingWindows } from '../../operators/windows/TumblingWindows.ts';
import type { WindowProcessor } from '../../operators/windows/WindowProcessor.ts';
import { tsvField } from '../connectors/clickhouse/sqlLiteral.ts';
import type { AggregateMessage, DistrictWindowMessage, IncidentMessage } from '../contract/aggregates.ts';
import type { StreamName } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import { type BatchResult, type DeadLetter, DISTRICT_BY_CODE, LABEL_BY_CODE } from './batchWorker.ts';
import {
  type DistrictWindowInput,
  type DistrictWindowValues,
  districtWindowAggregate,
} from './districtWindowAggregate.ts';

/** Event-time settings of the per-partition windows. */
export interface WindowTiming {
  /** Window length, ms (default one minute). */
  readonly windowSizeMs: number;
  /** How long after the watermark passes a window's end it still accepts records, ms. */
  readonly graceMs: number;
  /** Bounded out-of-orderness: the watermark is the largest event time seen minus this, ms. */
  readonly outOfOrdernessMs: number;
  /**
   * Live outputs (non-final window revisions, vehicle positions, people counts) only for event times within
   * this much of the wall clock, ms (default: all). Never affects what is written to ClickHouse.
   */
  readonly liveHorizonMs?: number;
}

/**
 * What the engine stores with each committed offset (Kafka commit metadata), so that a restart or a new
 * owner of the partition re-derives exactly the state the previous run had at that offset:
 * - `wm`: the partition's watermark just before the record at the committed offset;
 * - `closed`: the watermark when the commit was made: windows that end by `closed - grace` were already
 *   closed and written, so a replay must not write them again (it would write them incomplete).
 */
export interface CommitMetadata {
  readonly v: 1;
  readonly wm: number | null;
  readonly closed: number | null;
}

export interface CommitPoint {
  readonly offset: number;
  readonly metadata: CommitMetadata;
}

/** A final window result of one partition, as stored in `city.window_partials`. */
export interface WindowPartialRow extends DistrictWindowValues {
  readonly stream: StreamName;
  readonly district: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly source_partition: number;
  readonly revision: number;
}

/** The latest live position of a vehicle or count of a cell, for the map. */
export interface LiveVehicle {
  vehicle: string;
  mode: string;
  lat: number;
  lon: number;
  ts: number;
  speed_kmh: number | null;
  district: string;
}
export interface LiveCell {
  cell: string;
  present: number;
  inflow: number;
  outflow: number;
  ts: number;
  district: string;
}

/** Everything a partition produced since the last drain, and the offset that may be committed after it is written. */
export interface PipelineDrain {
  readonly stream: StreamName;
  readonly partition: number;
  /** UTF-8 TabSeparated bodies (see `BatchResult`). */
  readonly atomicTsv: Uint8Array[];
  readonly restrictedTsv: Uint8Array[];
  readonly deadLetters: DeadLetter[];
  readonly lateTsv: string;
  readonly lateCount: number;
  readonly windowRows: WindowPartialRow[];
  readonly liveWindows: DistrictWindowMessage[];
  readonly vehicles: LiveVehicle[];
  readonly cells: LiveCell[];
  readonly incidents: IncidentMessage[];
  readonly commit: CommitPoint | undefined;
  readonly watermark: number;
  readonly applied: number;
}

interface AppliedBatch {
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly wmBefore: number;
  readonly offsets: Float64Array;
  readonly ts: Float64Array;
}

/**
 * The state of one input partition in the engine's main thread: the per-minute district windows (the
 * operators' `TimeWindowProcessor`, watermark driven by this partition's own event times), de-duplication of
 * event ids within a window, late records, and the buffers of rows waiting to be written.
 *
 * Deterministic by construction: results depend only on the partition's records in offset order and on
 * the `CommitMetadata` it was restored from, so replaying from a committed offset re-derives the same
 * windows. That is what makes the engine exactly-once with idempotent writes (see docs/exactly-once.md).
 */
export class PartitionPipeline {
  readonly stream: StreamName;
  readonly topic: string;
  readonly partition: number;
  readonly #timing: WindowTiming;
  readonly #processor: WindowProcessor<DistrictWindowInput, string, DistrictWindowValues>;
  /** Windows ending by this - grace were closed and written before the restore: never write them again. */
  readonly #closedBefore: number;
  readonly #revisionBase: number;
  #nextOffset: number | undefined;
  #applied: AppliedBatch[] = [];
  #appliedCount = 0;
  #atomic: Uint8Array[] = [];
  #restricted: Uint8Array[] = [];
  #deadLetters: DeadLetter[] = [];
  #late = '';
  #lateCount = 0;
  #windowRows: WindowPartialRow[] = [];
  #liveWindows = new Map<string, DistrictWindowMessage>();
  #vehicles = new Map<string, LiveVehicle>();
  #cells = new Map<string, LiveCell>();
  #incidents: IncidentMessage[] = [];
  #bufferedBytes = 0;
  /** Wall-clock time of the last applied batch, for idleness. */
  lastActivityAt = Date.now();
  /** Newest event time among the records this pipeline applied (-Infinity before any). */
  maxEventTime = Number.NEGATIVE_INFINITY;

  /**
   * @param restored the metadata of the committed offset this partition resumes from (undefined: from the
   *   beginning); `revisionBase` makes live revisions of this run supersede those of earlier runs.
   */
  constructor(
    stream: StreamName,
    topic: string,
    partition: number,
    timing: WindowTiming,
    restored: CommitMetadata | undefined,
    revisionBase: number,
  ) {
    this.stream = stream;
    this.topic = topic;
    this.partition = partition;
    this.#timing = timing;
    this.#revisionBase = revisionBase;
    this.#processor = createWindowProcessor(
      TumblingWindows.ofSizeAndGrace(timing.windowSizeMs, timing.graceMs),
      {
        key: (record: SourceRecord<DistrictWindowInput>) => (record as DistrictRecord).district,
        aggregate: districtWindowAggregate(),
        emit: 'onWindowUpdate',
        watermarks: 'fromRecords',
        outOfOrdernessMs: timing.outOfOrdernessMs,
        recordId: (record) => (record as DistrictRecord).id,
      },
    );
    if (restored?.wm !== null && restored?.wm !== undefined) this.#processor.advanceWatermark(restored.wm);
    this.#closedBefore = restored?.closed ?? Number.NEGATIVE_INFINITY;
  }

  /** The partition's event-time watermark, epoch ms (-Infinity before any record). */
  get watermark(): number {
    return this.#processor.watermark;
  }

  /** Bytes of rows waiting for the next drain (for backpressure). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** The offset after the last applied message, or undefined before the first batch. */
  get nextOffset(): number | undefined {
    return this.#nextOffset;
  }

  stats() {
    return this.#processor.stats();
  }

  /** Folds one worker result into the state. Batches must be applied in offset order. */
  apply(result: BatchResult): void {
    if (result.lastOffset < 0) return;
    if (this.#nextOffset !== undefined && result.firstOffset < this.#nextOffset) {
      throw new CityOpsError(
        'INVARIANT_BROKEN',
        `${this.topic}[${this.partition}]: batch from offset ${result.firstOffset} applied after offset ${this.#nextOffset - 1}`,
      );
    }
    const a = result.accepted;
    this.#applied.push({
      firstOffset: result.firstOffset,
      lastOffset: result.lastOffset,
      wmBefore: this.#processor.watermark,
      offsets: a.offsets,
      ts: a.ts,
    });
    const records: DistrictRecord[] = new Array(a.count);
    for (let i = 0; i < a.count; i++) {
      if (a.ts[i]! > this.maxEventTime) this.maxEventTime = a.ts[i]!;
      records[i] = {
        source: this.topic,
        partition: this.partition,
        offset: a.offsets[i]!,
        timestamp: a.ts[i]!,
        id: a.ids[i]!,
        district: DISTRICT_BY_CODE[a.districtCodes[i]!]!,
        value: {
          stream: this.stream,
          ts: a.ts[i]!,
          seq: a.offsets[i]!,
          entity: a.entities[i]!,
          measure: a.measure[i]!,
          label: LABEL_BY_CODE[a.labelCodes[i]!]!,
          inflow: a.inflow[i]!,
          outflow: a.outflow[i]!,
        },
      };
    }
    const liveFrom = Date.now() - (this.#timing.liveHorizonMs ?? Number.POSITIVE_INFINITY);
    this.#handle(this.#processor.addBatch(records), liveFrom);
    this.#collectLive(result, liveFrom);
    if (result.atomicTsv.length > 0) this.#atomic.push(result.atomicTsv);
    if (result.restrictedTsv.length > 0) this.#restricted.push(result.restrictedTsv);
    for (const letter of result.deadLetters) this.#deadLetters.push(letter);
    for (const incident of result.incidents) this.#incidents.push(incident);
    this.#bufferedBytes += result.atomicTsv.length + result.restrictedTsv.length;
    this.#nextOffset = result.lastOffset + 1;
    this.#appliedCount += result.lastOffset - result.firstOffset + 1;
    this.lastActivityAt = Date.now();
  }

  /**
   * Moves the watermark forward without a record (the partition is idle: caught up and silent), closing the
   * windows that end by `timestamp - grace`.
   */
  advanceWatermark(timestamp: number): void {
    this.#handle(
      this.#processor.advanceWatermark(timestamp),
      Date.now() - (this.#timing.liveHorizonMs ?? Number.POSITIVE_INFINITY),
    );
  }

  /** Event time of the newest record of any open window, or undefined when no window is open. */
  hasOpenWindows(): boolean {
    return this.#processor.stats().openWindows > 0;
  }

  /**
   * Takes what was produced since the last drain, with the commit point valid once all of it is written:
   * every record before `commit.offset` has had all its effects in these (or earlier) outputs.
   */
  drain(): PipelineDrain {
    const drained: PipelineDrain = {
      stream: this.stream,
      partition: this.partition,
      atomicTsv: this.#atomic,
      restrictedTsv: this.#restricted,
      deadLetters: this.#deadLetters,
      lateTsv: this.#late,
      lateCount: this.#lateCount,
      windowRows: this.#windowRows,
      liveWindows: [...this.#liveWindows.values()],
      vehicles: [...this.#vehicles.values()],
      cells: [...this.#cells.values()],
      incidents: this.#incidents,
      commit: this.#commitPoint(),
      watermark: this.#processor.watermark,
      applied: this.#appliedCount,
    };
    this.#atomic = [];
    this.#restricted = [];
    this.#deadLetters = [];
    this.#late = '';
    this.#lateCount = 0;
    this.#windowRows = [];
    this.#liveWindows.clear();
    this.#vehicles.clear();
    this.#cells.clear();
    this.#incidents = [];
    this.#bufferedBytes = 0;
    this.#appliedCount = 0;
    return drained;
  }

  #commitPoint(): CommitPoint | undefined {
    if (this.#nextOffset === undefined) return undefined;
    const closed = finiteOrNull(this.#processor.watermark);
    const held = this.#processor.oldestHeldOffset(this.topic, this.partition);
    if (held === undefined) {
      this.#applied = [];
      return { offset: this.#nextOffset, metadata: { v: 1, wm: closed, closed } };
    }
    // Forget batches entirely before the held offset; find the watermark just before it.
    while (this.#applied.length > 0 && this.#applied[0]!.lastOffset < held) this.#applied.shift();
    const batch = this.#applied[0];
    if (batch === undefined || batch.firstOffset > held) {
      throw new CityOpsError(
        'INVARIANT_BROKEN',
        `${this.topic}[${this.partition}]: no applied batch holds offset ${held}`,
      );
    }
    let maxTs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < batch.offsets.length && batch.offsets[i]! < held; i++) {
      if (batch.ts[i]! > maxTs) maxTs = batch.ts[i]!;
    }
    const wm = Math.max(batch.wmBefore, maxTs - this.#timing.outOfOrdernessMs);
    return { offset: held, metadata: { v: 1, wm: finiteOrNull(wm), closed } };
  }

  #handle(
    outputs: ReturnType<WindowProcessor<DistrictWindowInput, string, DistrictWindowValues>['addBatch']>,
    liveFrom: number,
  ): void {
    const grace = this.#timing.graceMs;
    for (const output of outputs) {
      if (output.kind === 'late') {
        const r = output.record as DistrictRecord;
        const seconds = Math.floor(r.timestamp / 1000);
        const windowStart = output.windows[0]?.start ?? r.timestamp;
        this.#late += `${this.stream}\t${tsvField(r.id)}\t${seconds}\t${r.timestamp}\t${r.district}\t${Math.floor(windowStart / 1000)}\t${Math.max(0, output.watermark)}\t${this.partition}\t${r.offset}\t${Math.floor(Date.now() / 1000)}\n`;
        this.#lateCount += 1;
        continue;
      }
      // A window closed before this run's restore point was written then; replaying its tail would write
      // an incomplete copy over it.
      if (output.end + grace <= this.#closedBefore) continue;
      const live = output.end >= liveFrom; // a replay of the past publishes nothing live
      const message: DistrictWindowMessage = {
        kind: 'district_window',
        stream: this.stream,
        district: output.key,
        window_start: output.start,
        window_end: output.end,
        partition: this.partition,
        revision: this.#revisionBase + output.revision,
        final: output.final,
        ...output.value,
      };
      if (live) this.#liveWindows.set(`${output.key}|${output.start}`, message);
      if (output.final) {
        this.#windowRows.push({
          stream: this.stream,
          district: output.key,
          window_start: output.start,
          window_end: output.end,
          source_partition: this.partition,
          revision: output.revision,
          ...output.value,
        });
      }
    }
  }

  #collectLive(result: BatchResult, liveFrom: number): void {
    const a = result.accepted;
    if (a.count === 0 || a.ts[a.count - 1]! < liveFrom) return;
    if (this.stream === 'transport') {
      for (let i = 0; i < a.count; i++) {
        const vehicle = a.entities[i]!;
        if (a.ts[i]! < liveFrom) continue;
        const previous = this.#vehicles.get(vehicle);
        if (previous && previous.ts > a.ts[i]!) continue;
        const speed = a.measure[i]!;
        this.#vehicles.set(vehicle, {
          vehicle,
          mode: LABEL_BY_CODE[a.labelCodes[i]!]!,
          lat: a.lat[i]!,
          lon: a.lon[i]!,
          ts: a.ts[i]!,
          speed_kmh: Number.isNaN(speed) ? null : speed,
          district: DISTRICT_BY_CODE[a.districtCodes[i]!]!,
        });
      }
    } else if (this.stream === 'population') {
      for (let i = 0; i < a.count; i++) {
        const cell = a.entities[i]!;
        if (a.ts[i]! < liveFrom) continue;
        const previous = this.#cells.get(cell);
        if (previous && previous.ts > a.ts[i]!) continue;
        this.#cells.set(cell, {
          cell,
          present: a.measure[i]!,
          inflow: a.inflow[i]!,
          outflow: a.outflow[i]!,
          ts: a.ts[i]!,
          district: DISTRICT_BY_CODE[a.districtCodes[i]!]!,
        });
      }
    }
  }
}

interface DistrictRecord extends SourceRecord<DistrictWindowInput> {
  readonly id: string;
  readonly district: string;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Parses commit metadata written by `PartitionPipeline` (undefined for none or a foreign format). */
export function parseCommitMetadata(text: string | null | undefined): CommitMetadata | undefined {
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<CommitMetadata>;
    if (parsed.v !== 1) return undefined;
    const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
    return { v: 1, wm: num(parsed.wm), closed: num(parsed.closed) };
  } catch {
    return undefined;
  }
}

/** Vehicles or cells per `vehicle_positions` / `population_cells` message, at most. */
const LIVE_CHUNK = 2_000;

/**
 * The live messages of one drain for the `city.aggregates` topic (or the embedded map): window revisions,
 * incidents, vehicle positions and people counts in chunks, and the partition's watermark.
 */
export function liveMessages(drain: PipelineDrain, now: number): AggregateMessage[] {
  // Windows in event-time order: a consumer takes a final of a later window as proof that this partition
  // has nothing more for the earlier ones (DistrictWindowCompletion).
  const windows = [...drain.liveWindows].sort((a, b) => a.window_end - b.window_end);
  const messages: AggregateMessage[] = [...windows, ...drain.incidents];
  for (let i = 0; i < drain.vehicles.length; i += LIVE_CHUNK) {
    const vehicles = drain.vehicles.slice(i, i + LIVE_CHUNK);
    messages.push({
      kind: 'vehicle_positions',
      partition: drain.partition,
      ts: Math.max(...vehicles.map((v) => v.ts)),
      vehicles,
    });
  }
  for (let i = 0; i < drain.cells.length; i += LIVE_CHUNK) {
    const cells = drain.cells.slice(i, i + LIVE_CHUNK);
    messages.push({
      kind: 'population_cells',
      partition: drain.partition,
      ts: Math.max(...cells.map((c) => c.ts)),
      cells,
    });
  }
  if (Number.isFinite(drain.watermark)) {
    messages.push({
      kind: 'watermark',
      stream: drain.stream,
      partition: drain.partition,
      watermark: drain.watermark,
      at: now,
    });
  }
  return messages;
}
