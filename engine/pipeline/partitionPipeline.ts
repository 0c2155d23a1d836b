import { map, type OperatorFunction, Subject, tap } from 'rxjs';
import type { SourceRecord } from '../../operators/time/SourceRecord.ts';
import { Watermark } from '../../operators/time/Watermark.ts';
import type { NodeKind } from '../../operators/topology/Topology.ts';
import { createWindowProcessor } from '../../operators/windows/createWindowProcessor.ts';
import { TumblingWindows } from '../../operators/windows/TumblingWindows.ts';
import type { WindowOutput } from '../../operators/windows/WindowOutput.ts';
import type { WindowProcessor } from '../../operators/windows/WindowProcessor.ts';
import { windowsOf } from '../../operators/windows/windowAggregate.ts';
import type { RowBinaryChunk } from '../connectors/clickhouse/rowBinary.ts';
import { lateEventRow, type WindowPartialRow } from '../connectors/clickhouse/tables/layers.ts';
import type { AggregateMessage, DistrictWindowMessage, IncidentMessage } from '../contract/aggregates.ts';
import type { StreamName } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import {
  type BatchResult,
  type BatchTask,
  type DeadLetter,
  DISTRICT_BY_CODE,
  LABEL_BY_CODE,
  processBatch,
} from './batchWorker.ts';
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
  /** RowBinary rows of the atomic table and of the restricted raw events (see `BatchResult`). */
  readonly atomic: RowBinaryChunk[];
  readonly restricted: RowBinaryChunk[];
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
 * What enters a partition's graph: a batch as it came from Kafka (decoded in the graph), a batch already
 * decoded (tests, tools), or a watermark moved on without a record (the partition is idle).
 */
export type PartitionInput = BatchTask | BatchResult | Watermark;

/** One node of a partition's RxJS operator graph: the operator that runs, and how `--describe` names it. */
export interface GraphStage {
  readonly name: string;
  readonly kind: NodeKind;
  /** Names of the nodes it reads from. */
  readonly parents: readonly string[];
  readonly detail: string;
  /** The operator on the graph's main line; a sink (a branch that only collects) has none. */
  readonly operator?: OperatorFunction<never, unknown>;
}

/** What one batch gave: records accepted, and dead letters by reason. */
export interface BatchCounts {
  readonly accepted: number;
  readonly deadLetters: Readonly<Record<string, number>>;
}

type Decoded = BatchResult | Watermark;
type WindowInput = readonly SourceRecord<DistrictWindowInput>[] | Watermark;
type Output = WindowOutput<DistrictWindowInput, string, DistrictWindowValues>;

/**
 * The state of one input partition, and the RxJS operator graph its records go through, in the worker
 * thread that owns the partition: decode, validate and enrich (dead letters out), the rows for ClickHouse,
 * the latest live positions, then the per-minute district windows (the operators' `TimeWindowProcessor`
 * behind `windowsOf`, watermark driven by this partition's own event times) with de-duplication of event
 * ids within a window and the late records.
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
  readonly #input = new Subject<PartitionInput>();
  /** The graph's nodes, in the order they were wired (see `stages`). */
  readonly stages: readonly GraphStage[];
  #failure: { error: unknown } | undefined;
  #liveFrom = Number.NEGATIVE_INFINITY;
  #counts: BatchCounts = { accepted: 0, deadLetters: {} };
  /** Windows ending by this - grace were closed and written before the restore: never write them again. */
  readonly #closedBefore: number;
  readonly #revisionBase: number;
  #nextOffset: number | undefined;
  #applied: AppliedBatch[] = [];
  #appliedCount = 0;
  #atomic: RowBinaryChunk[] = [];
  #restricted: RowBinaryChunk[] = [];
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
    this.stages = this.#graph();
    const line = this.stages.flatMap((stage) => (stage.operator ? [stage.operator] : []));
    (this.#input.pipe as (...operators: OperatorFunction<never, unknown>[]) => Subject<Output>)(
      ...line,
    ).subscribe({
      next: (output) => {
        // RxJS would report a throw here asynchronously, after the task has answered: keep it for #push.
        try {
          this.#handle(output);
        } catch (error) {
          this.#failure ??= { error };
        }
      },
      error: (error: unknown) => {
        this.#failure ??= { error };
      },
    });
  }

  /**
   * The graph: every node that runs, with its name and a line saying what it does. Built once per partition;
   * `city-ops run --describe` prints the nodes of one.
   */
  #graph(): GraphStage[] {
    const t = this.#timing;
    const decode: OperatorFunction<PartitionInput, Decoded> = map((input) =>
      input instanceof Watermark || !('payload' in input) ? input : processBatch(input),
    );
    const rows: OperatorFunction<Decoded, Decoded> = tap((input) => {
      if (!(input instanceof Watermark)) this.#collect(input);
    });
    const records: OperatorFunction<Decoded, WindowInput> = map((input) =>
      input instanceof Watermark ? input : this.#records(input),
    );
    const windows: OperatorFunction<WindowInput, Output> = windowsOf(this.#processor);
    const stage = (
      name: string,
      kind: NodeKind,
      parents: string[],
      detail: string,
      operator?: OperatorFunction<never, unknown>,
    ): GraphStage => (operator ? { name, kind, parents, detail, operator } : { name, kind, parents, detail });
    return [
      stage('kafka', 'source', [], `topic ${this.topic}, partition ${this.partition}: packed batches`),
      stage(
        'decode',
        'operator',
        ['kafka'],
        'decode, validate, district, H3 cell, masking (processBatch)',
        decode as OperatorFunction<never, unknown>,
      ),
      stage(
        'dead-letters',
        'sink',
        ['decode'],
        'dead_letters (masked), dead_letters_raw (restricted database), dead-letters topic',
      ),
      stage(
        'rows',
        'operator',
        ['decode'],
        'atomic and restricted rows, incidents, latest vehicles and cells',
        rows as OperatorFunction<never, unknown>,
      ),
      stage(
        'atomic',
        'sink',
        ['rows'],
        `${this.stream}_atomic (masked)${this.stream === 'events' ? ', events_raw (restricted database)' : ''}`,
      ),
      stage('live', 'sink', ['rows'], 'aggregates topic: vehicles, cells, incidents'),
      stage(
        'records',
        'operator',
        ['rows'],
        'accepted records by district, with event id',
        records as OperatorFunction<never, unknown>,
      ),
      stage(
        'windows',
        'operator',
        ['records'],
        `windowsOf(TumblingWindows(size=${t.windowSizeMs}ms, grace=${t.graceMs}ms)), watermark = max event time - ${t.outOfOrdernessMs}ms, de-duplicated by id`,
        windows as OperatorFunction<never, unknown>,
      ),
      stage('window-partials', 'sink', ['windows'], 'window_partials (finals), aggregates topic (revisions)'),
      stage('late', 'sink', ['windows'], 'late_events'),
    ];
  }

  /** Sends one element through the graph; an operator's error comes back here, to the caller. */
  #push(input: PartitionInput): void {
    this.#rethrow();
    this.#input.next(input);
    this.#rethrow();
  }

  /** An operator that failed has ended the graph: every later call fails with the same error. */
  #rethrow(): void {
    if (this.#failure) throw this.#failure.error;
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

  /**
   * Sends one batch through the graph: as packed from Kafka (decoded here) or already decoded. Batches must
   * come in offset order.
   */
  apply(batch: BatchTask | BatchResult): BatchCounts {
    this.#liveFrom = Date.now() - (this.#timing.liveHorizonMs ?? Number.POSITIVE_INFINITY);
    this.#counts = { accepted: 0, deadLetters: {} };
    this.#push(batch);
    return this.#counts;
  }

  /** The `rows` node: bookkeeping and the rows, dead letters and live positions of one decoded batch. */
  #collect(result: BatchResult): void {
    const deadLetters: Record<string, number> = {};
    for (const letter of result.deadLetters)
      deadLetters[letter.reason] = (deadLetters[letter.reason] ?? 0) + 1;
    this.#counts = { accepted: result.accepted.count, deadLetters };
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
    this.#collectLive(result, this.#liveFrom);
    if (result.atomic.rows > 0) this.#atomic.push(result.atomic);
    if (result.restricted.rows > 0) this.#restricted.push(result.restricted);
    for (const letter of result.deadLetters) this.#deadLetters.push(letter);
    for (const incident of result.incidents) this.#incidents.push(incident);
    this.#bufferedBytes += result.atomic.bytes.length + result.restricted.bytes.length;
    this.#nextOffset = result.lastOffset + 1;
    this.#appliedCount += result.lastOffset - result.firstOffset + 1;
    this.lastActivityAt = Date.now();
  }

  /** The `records` node: the accepted records of a decoded batch as window input. */
  #records(result: BatchResult): DistrictRecord[] {
    const a = result.accepted;
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
    return records;
  }

  /**
   * Moves the watermark forward without a record (the partition is idle: caught up and silent), closing the
   * windows that end by `timestamp - grace`.
   */
  advanceWatermark(timestamp: number): void {
    this.#liveFrom = Date.now() - (this.#timing.liveHorizonMs ?? Number.POSITIVE_INFINITY);
    this.#push(new Watermark(timestamp));
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
    this.#rethrow();
    const drained: PipelineDrain = {
      stream: this.stream,
      partition: this.partition,
      atomic: this.#atomic,
      restricted: this.#restricted,
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

  /** The `window-partials` and `late` sinks: one output of the windows node. */
  #handle(output: Output): void {
    if (output.kind === 'late') {
      const r = output.record as DistrictRecord;
      const windowStart = output.windows[0]?.start ?? r.timestamp;
      this.#late += lateEventRow(
        this.stream,
        r.id,
        r.timestamp,
        r.district,
        windowStart,
        output.watermark,
        this.partition,
        r.offset,
        Math.floor(Date.now() / 1000),
      );
      this.#lateCount += 1;
      return;
    }
    // A window closed before this run's restore point was written then; replaying its tail would write
    // an incomplete copy over it.
    if (output.end + this.#timing.graceMs <= this.#closedBefore) return;
    const live = output.end >= this.#liveFrom; // a replay of the past publishes nothing live
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
