import { cellToParent, getResolution } from 'h3-js';
import type {
  AggregateMessage,
  DistrictPulseMessage,
  DistrictWindowMessage,
  IncidentImpactMessage,
  IncidentMessage,
  PopulationCellsMessage,
  VehiclePositionsMessage,
  WatermarkMessage,
} from '../contract/aggregates.ts';
import { DistrictWindowTable, type DistrictWindowTotals } from '../contract/districtWindowTable.ts';
import type { AlertEntity } from './alertEvent.ts';
import { type Layer, layerOfTopic, topicName } from './protocol.ts';
import { type ResumeLimits, TopicChannel } from './topicChannel.ts';

/** Options of the live state; every field has a default. */
export interface LiveStateOptions {
  /** H3 resolutions served besides the one the engine publishes cells at (coarser levels are summed). */
  cellResolutions: readonly number[];
  /** A vehicle not seen for this long (event time, ms) leaves the map. Default 5 min. */
  vehicleStaleMs: number;
  /** A cell not reported for this long (event time, ms) leaves the map. Default 10 min. */
  cellStaleMs: number;
  /** A closed incident stays this long (event time, ms). Default 60 min. */
  closedIncidentKeepMs: number;
  /** Minutes of district pulse kept (the district click shows the last hour). Default 60 min. */
  pulseKeepMs: number;
  /** A resolved alert stays in the feed this long (wall clock, ms). Default 30 min. */
  resolvedAlertKeepMs: number;
  /** Free-flow speed for the congestion index (1 - mean speed / free flow), km/h. Default 50. */
  freeFlowKmh: number;
  resume: Partial<ResumeLimits>;
}

const DEFAULTS: LiveStateOptions = {
  cellResolutions: [7, 8],
  vehicleStaleMs: 5 * 60_000,
  cellStaleMs: 10 * 60_000,
  closedIncidentKeepMs: 60 * 60_000,
  pulseKeepMs: 60 * 60_000,
  resolvedAlertKeepMs: 30 * 60_000,
  freeFlowKmh: 50,
  resume: {},
};

type Stream = DistrictWindowMessage['stream'];

/** Value of a `districts` entity: the indicators of the last complete minute. */
export interface DistrictIndicators {
  district: string;
  /** Start of the minute the indicators describe (the newest one closed by the watermark), epoch ms. */
  minute: number | null;
  /** Accepted records of all three streams in that minute. */
  records_per_min: number;
  transport_per_min: number;
  incidents_per_min: number;
  population_per_min: number;
  vehicles: number;
  mean_speed_kmh: number | null;
  /** 0 (free flow) .. 1 (standstill): 1 - mean speed / free-flow speed. */
  congestion: number | null;
  incidents_opened: number;
  incidents_severe: number;
  people_present: number;
  net_inflow: number;
}

interface CellRecord {
  present: number;
  inflow: number;
  outflow: number;
  ts: number;
  district: string;
  resolution: number;
  /** Its topic and, per coarser served resolution, its parent cell (computed once: h3 calls are not free). */
  topic: string;
  parents: Array<{ resolution: number; cell: string; agg: ParentRecord }>;
}

interface ParentRecord {
  present: number;
  inflow: number;
  outflow: number;
  children: number;
  district: string;
  topic: string;
}

/**
 * What the map shows, built from the engine's aggregates and the alert events, kept as one
 * `TopicChannel` per topic (see `protocol.ts` for topic names). `apply*` change entity values;
 * `flush()` turns the changes of a tick into one serialised delta per topic.
 *
 * Values are compact where volume is high: a vehicle is `[lon, lat, mode, speed_kmh|null, ts]`, a cell
 * `[present, inflow, outflow]`, a pulse minute `[vehicles_seen, mean_speed_kmh, incidents_opened,
 * incidents_open, people_present, net_inflow]`.
 *
 * @example
 * const state = new LiveState(['440303', '440304']);
 * state.apply(message, kafkaTimestamp);
 * state.flush(Date.now(), (topic, payload) => app.publish(topic, payload));
 */
export class LiveState {
  readonly options: LiveStateOptions;
  private readonly channels = new Map<string, TopicChannel>();
  private readonly windows = new DistrictWindowTable();
  /** (stream, district) -> window_start -> totals, the few newest windows. */
  private readonly recentWindows = new Map<string, Map<number, DistrictWindowTotals>>();
  private readonly watermarks = new Map<Stream, Map<number, { watermark: number; at: number }>>();
  private readonly dirtyDistricts = new Set<string>();
  private dirtySrc = Number.POSITIVE_INFINITY;
  private readonly vehicles = new Map<string, { district: string; ts: number }>();
  private maxVehicleTs = 0;
  private readonly cells = new Map<string, CellRecord>();
  private readonly parents = new Map<number, Map<string, ParentRecord>>();
  private maxCellTs = 0;
  private readonly incidents = new Map<string, Record<string, unknown>>();
  private readonly impacts = new Map<string, Record<string, unknown>>();
  private maxIncidentTs = 0;
  private readonly pulseStarts = new Map<string, number>();
  private maxPulseStart = 0;
  private readonly alertsResolvedAt = new Map<string, number>();
  private readonly nativeResolutions = new Set<number>();
  private maxWindowEnd = 0;
  /** Called when a topic gets pending changes (the server schedules a flush). */
  onChange: (() => void) | undefined;

  constructor(
    readonly districts: readonly string[],
    options: Partial<LiveStateOptions> = {},
  ) {
    this.options = Object.freeze({ ...DEFAULTS, ...options });
  }

  /** The channel of a topic, created on first use. */
  channel(topic: string): TopicChannel {
    let channel = this.channels.get(topic);
    if (!channel) {
      channel = new TopicChannel(topic, this.options.resume);
      this.channels.set(topic, channel);
    }
    return channel;
  }

  /** The channel of a topic if it exists. */
  peek(topic: string): TopicChannel | undefined {
    return this.channels.get(topic);
  }

  /** Every topic with state, for metrics and tests. */
  topics(): string[] {
    return [...this.channels.keys()];
  }

  /** H3 resolutions the `cells` layer is served at, coarsest first. */
  resolutions(): number[] {
    return [...new Set([...this.options.cellResolutions, ...this.nativeResolutions])].sort((a, b) => a - b);
  }

  /** Applies one aggregate; `src` is its Kafka timestamp (epoch ms), carried into the deltas. */
  apply(message: AggregateMessage, src: number): void {
    switch (message.kind) {
      case 'district_window':
        this.applyWindow(message, src);
        return;
      case 'vehicle_positions':
        this.applyVehicles(message, src);
        return;
      case 'population_cells':
        this.applyCells(message, src);
        return;
      case 'incident':
        this.applyIncident(message, src);
        return;
      case 'incident_impact':
        this.applyImpact(message, src);
        return;
      case 'district_pulse':
        this.applyPulse(message, src);
        return;
      case 'watermark':
        this.applyWatermark(message, src);
        return;
    }
  }

  /** Applies one alert lifecycle event. */
  applyAlert(alert: AlertEntity, src: number): void {
    const previous = this.channel('alerts').get(alert.alert_id) as AlertEntity | undefined;
    // A resolved alert stays resolved even if a late firing event of the same id arrives.
    if (previous?.state === 'resolved' && alert.state === 'firing') return;
    const merged: AlertEntity = previous ? mergeAlert(previous, alert) : alert;
    this.upsert('alerts', alert.alert_id, merged, src);
    if (merged.state === 'resolved') this.alertsResolvedAt.set(alert.alert_id, Date.now());
  }

  /**
   * Turns pending changes into one delta per topic and hands each serialised delta to `publish`.
   * Returns the number of deltas published.
   */
  flush(now: number, publish: (topic: string, payload: string, layer: Layer) => void): number {
    this.computeDistricts();
    let published = 0;
    for (const channel of this.channels.values()) {
      const payload = channel.flush(now);
      if (payload === undefined) continue;
      publish(channel.name, payload, layerOfTopic(channel.name));
      published += 1;
    }
    return published;
  }

  /** Whether any topic has changes waiting for a flush. */
  get hasPending(): boolean {
    if (this.dirtyDistricts.size > 0) return true;
    for (const channel of this.channels.values()) if (channel.hasPending) return true;
    return false;
  }

  /**
   * Drops what has aged out (stale vehicles and cells, old closed incidents, pulse minutes and
   * resolved alerts, old windows). Event-time limits are measured from the newest event seen, so a
   * replay of old data is not emptied at once. Call it every few seconds.
   */
  evict(now: number): void {
    const src = now;
    if (this.maxVehicleTs > 0) {
      const limit = this.maxVehicleTs - this.options.vehicleStaleMs;
      for (const [id, seen] of this.vehicles) {
        if (seen.ts >= limit) continue;
        this.vehicles.delete(id);
        this.remove(topicName('vehicles', seen.district), id, src);
      }
    }
    if (this.maxCellTs > 0) {
      const limit = this.maxCellTs - this.options.cellStaleMs;
      for (const [cell, record] of this.cells) if (record.ts < limit) this.removeCell(cell, record, src);
    }
    const incidentLimit = this.maxIncidentTs - this.options.closedIncidentKeepMs;
    for (const [id, incident] of this.incidents) {
      if (incident['status'] === 'closed' && (incident['ts'] as number) < incidentLimit) {
        this.incidents.delete(id);
        this.impacts.delete(id);
        this.remove(topicName('incidents', incident['district'] as string), id, src);
      }
    }
    const pulseLimit = this.maxPulseStart - this.options.pulseKeepMs;
    for (const [key, start] of this.pulseStarts) {
      if (start > pulseLimit) continue;
      this.pulseStarts.delete(key);
      this.remove('pulse', key, src);
    }
    for (const [id, resolvedAt] of this.alertsResolvedAt) {
      if (resolvedAt > now - this.options.resolvedAlertKeepMs) continue;
      this.alertsResolvedAt.delete(id);
      this.remove('alerts', id, src);
    }
    if (this.maxWindowEnd > 0) {
      const limit = this.maxWindowEnd - 10 * 60_000;
      this.windows.evictBefore(limit);
      for (const byStart of this.recentWindows.values())
        for (const start of byStart.keys()) if (start < limit) byStart.delete(start);
    }
  }

  private upsert(topic: string, key: string, value: unknown, src: number): void {
    this.channel(topic).upsert(key, value, src);
    this.onChange?.();
  }

  private remove(topic: string, key: string, src: number): void {
    const channel = this.channels.get(topic);
    if (!channel) return;
    channel.remove(key, src);
    this.onChange?.();
  }

  private applyWindow(message: DistrictWindowMessage, src: number): void {
    const totals = this.windows.apply(message);
    if (!totals) return;
    const key = `${message.stream}|${message.district}`;
    let byStart = this.recentWindows.get(key);
    if (!byStart) {
      byStart = new Map();
      this.recentWindows.set(key, byStart);
    }
    byStart.set(totals.window_start, totals);
    if (totals.window_end > this.maxWindowEnd) this.maxWindowEnd = totals.window_end;
    this.markDistrict(message.district, src);
  }

  private markDistrict(district: string, src: number): void {
    this.dirtyDistricts.add(district);
    if (src < this.dirtySrc) this.dirtySrc = src;
    this.onChange?.();
  }

  private streamWatermark(stream: Stream): number | undefined {
    const byPartition = this.watermarks.get(stream);
    if (!byPartition || byPartition.size === 0) return undefined;
    let min = Number.POSITIVE_INFINITY;
    for (const { watermark } of byPartition.values()) min = Math.min(min, watermark);
    return min;
  }

  /** The newest window of (stream, district) closed by the stream's watermark (else the second newest). */
  private completeWindow(stream: Stream, district: string): DistrictWindowTotals | undefined {
    const byStart = this.recentWindows.get(`${stream}|${district}`);
    if (!byStart || byStart.size === 0) return undefined;
    const starts = [...byStart.keys()].sort((a, b) => b - a);
    const watermark = this.streamWatermark(stream);
    if (watermark !== undefined) {
      for (const start of starts) {
        const totals = byStart.get(start)!;
        if (totals.window_end <= watermark) return totals;
      }
    }
    return byStart.get(starts.length > 1 ? starts[1]! : starts[0]!);
  }

  private computeDistricts(): void {
    if (this.dirtyDistricts.size === 0) return;
    const src = Number.isFinite(this.dirtySrc) ? this.dirtySrc : Date.now();
    for (const district of this.dirtyDistricts) {
      const transport = this.completeWindow('transport', district);
      const events = this.completeWindow('events', district);
      const population = this.completeWindow('population', district);
      const meanSpeed =
        transport && transport.speed_count > 0 ? round1(transport.speed_sum / transport.speed_count) : null;
      const value: DistrictIndicators = {
        district,
        minute: transport?.window_start ?? events?.window_start ?? population?.window_start ?? null,
        records_per_min: (transport?.events ?? 0) + (events?.events ?? 0) + (population?.events ?? 0),
        transport_per_min: transport?.events ?? 0,
        incidents_per_min: events?.events ?? 0,
        population_per_min: population?.events ?? 0,
        vehicles: transport?.distinct_keys ?? 0,
        mean_speed_kmh: meanSpeed,
        congestion:
          meanSpeed === null
            ? null
            : Math.round(Math.min(1, Math.max(0, 1 - meanSpeed / this.options.freeFlowKmh)) * 1000) / 1000,
        incidents_opened: events?.opened ?? 0,
        incidents_severe: events?.severe ?? 0,
        people_present: population?.present ?? 0,
        net_inflow: (population?.inflow ?? 0) - (population?.outflow ?? 0),
      };
      const channel = this.channel('districts');
      if (!sameJson(channel.get(district), value)) channel.upsert(district, value, src);
    }
    this.dirtyDistricts.clear();
    this.dirtySrc = Number.POSITIVE_INFINITY;
  }

  private applyVehicles(message: VehiclePositionsMessage, src: number): void {
    for (const v of message.vehicles) {
      const previous = this.vehicles.get(v.vehicle);
      if (previous && previous.ts > v.ts) continue; // an older position arriving late
      if (previous && previous.district !== v.district)
        this.remove(topicName('vehicles', previous.district), v.vehicle, src);
      this.vehicles.set(v.vehicle, { district: v.district, ts: v.ts });
      if (v.ts > this.maxVehicleTs) this.maxVehicleTs = v.ts;
      this.channel(topicName('vehicles', v.district)).upsert(
        v.vehicle,
        [round5(v.lon), round5(v.lat), v.mode, v.speed_kmh === null ? null : round1(v.speed_kmh), v.ts],
        src,
      );
    }
    if (message.vehicles.length > 0) this.onChange?.();
  }

  private applyCells(message: PopulationCellsMessage, src: number): void {
    for (const c of message.cells) {
      const record = this.cells.get(c.cell);
      if (record) {
        if (record.ts > c.ts) continue;
        // Hot path (every cell, every tick): update in place and push the differences to the parents.
        const dPresent = c.present - record.present;
        const dInflow = c.inflow - record.inflow;
        const dOutflow = c.outflow - record.outflow;
        record.present = c.present;
        record.inflow = c.inflow;
        record.outflow = c.outflow;
        record.ts = c.ts;
        if (c.ts > this.maxCellTs) this.maxCellTs = c.ts;
        this.channel(record.topic).upsert(c.cell, [c.present, c.inflow, c.outflow], src);
        if (dPresent !== 0 || dInflow !== 0 || dOutflow !== 0) {
          for (const parent of record.parents) {
            const agg = parent.agg;
            agg.present += dPresent;
            agg.inflow += dInflow;
            agg.outflow += dOutflow;
            this.channel(agg.topic).upsert(parent.cell, [agg.present, agg.inflow, agg.outflow], src);
          }
        }
        continue;
      }
      let resolution: number;
      try {
        resolution = getResolution(c.cell);
      } catch {
        continue; // not an H3 index: nothing to draw
      }
      if (resolution < 0) continue;
      this.nativeResolutions.add(resolution);
      const created: CellRecord = {
        present: c.present,
        inflow: c.inflow,
        outflow: c.outflow,
        ts: c.ts,
        district: c.district,
        resolution,
        topic: topicName('cells', c.district, resolution),
        parents: [],
      };
      for (const r of this.options.cellResolutions) {
        if (r >= resolution) continue;
        const cell = cellToParent(c.cell, r);
        created.parents.push({ resolution: r, cell, agg: this.parentAgg(r, cell, c.district) });
      }
      this.cells.set(c.cell, created);
      if (c.ts > this.maxCellTs) this.maxCellTs = c.ts;
      this.channel(created.topic).upsert(c.cell, [c.present, c.inflow, c.outflow], src);
      this.updateParents(created, undefined, src);
    }
    if (message.cells.length > 0) this.onChange?.();
  }

  private parentAgg(resolution: number, parent: string, district: string): ParentRecord {
    let level = this.parents.get(resolution);
    if (!level) {
      level = new Map();
      this.parents.set(resolution, level);
    }
    let agg = level.get(parent);
    if (!agg) {
      agg = {
        present: 0,
        inflow: 0,
        outflow: 0,
        children: 0,
        district,
        topic: topicName('cells', district, resolution),
      };
      level.set(parent, agg);
    }
    return agg;
  }

  /** Adds a new cell to its parents, or takes a removed one out of them. */
  private updateParents(record: CellRecord | undefined, previous: CellRecord | undefined, src: number): void {
    const source = record ?? previous;
    if (!source) return;
    for (const { resolution, cell: parent } of source.parents) {
      // The record's own reference may be stale if the parent was dropped and made again.
      const agg = this.parentAgg(resolution, parent, source.district);
      const sign = record ? 1 : -1;
      agg.present += sign * source.present;
      agg.inflow += sign * source.inflow;
      agg.outflow += sign * source.outflow;
      agg.children += sign;
      if (agg.children <= 0) {
        this.parents.get(resolution)?.delete(parent);
        this.remove(agg.topic, parent, src);
      } else {
        this.channel(agg.topic).upsert(parent, [agg.present, agg.inflow, agg.outflow], src);
      }
    }
  }

  private removeCell(cell: string, record: CellRecord, src: number): void {
    this.cells.delete(cell);
    this.remove(record.topic, cell, src);
    this.updateParents(undefined, record, src);
  }

  private applyIncident(message: IncidentMessage, src: number): void {
    const previous = this.incidents.get(message.incident_id);
    if (previous && (previous['ts'] as number) > message.ts) return;
    // The reporter (even masked) is not needed on the map: it never leaves the server.
    const value: Record<string, unknown> = {
      id: message.incident_id,
      ts: message.ts,
      category: message.category,
      severity: message.severity,
      status: message.status,
      lat: message.lat,
      lon: message.lon,
      district: message.district,
      cell: message.cell,
      source: message.source,
      description: message.description,
      impact: this.impacts.get(message.incident_id) ?? null,
    };
    if (previous && previous['district'] !== message.district)
      this.remove(topicName('incidents', previous['district'] as string), message.incident_id, src);
    this.incidents.set(message.incident_id, value);
    if (message.ts > this.maxIncidentTs) this.maxIncidentTs = message.ts;
    this.upsert(topicName('incidents', message.district), message.incident_id, value, src);
  }

  private applyImpact(message: IncidentImpactMessage, src: number): void {
    const impact = {
      ts: message.ts,
      radius_m: message.radius_m,
      band_ms: message.band_ms,
      vehicles: message.vehicles,
      people_present: message.people_present,
      nearest_vehicles: message.nearest_vehicles.slice(0, 10),
      // The base libraries' figures (residents 1-4 already null); the buildings drawn are the nearest 300.
      base: message.base
        ? { ...message.base, affected_buildings: message.base.affected_buildings.slice(0, 300) }
        : null,
    };
    this.impacts.set(message.incident_id, impact);
    const incident: Record<string, unknown> = this.incidents.get(message.incident_id) ?? {
      id: message.incident_id,
      ts: message.ts,
      category: message.category,
      severity: message.severity,
      status: 'open',
      lat: message.lat,
      lon: message.lon,
      district: message.district,
      cell: null,
      source: null,
      description: null,
    };
    const value: Record<string, unknown> = { ...incident, impact };
    this.incidents.set(message.incident_id, value);
    if (message.ts > this.maxIncidentTs) this.maxIncidentTs = message.ts;
    this.upsert(topicName('incidents', value['district'] as string), message.incident_id, value, src);
  }

  private applyPulse(message: DistrictPulseMessage, src: number): void {
    const key = `${message.district}|${message.window_start}`;
    if (message.window_start <= this.maxPulseStart - this.options.pulseKeepMs) return;
    this.pulseStarts.set(key, message.window_start);
    if (message.window_start > this.maxPulseStart) this.maxPulseStart = message.window_start;
    this.upsert(
      'pulse',
      key,
      [
        message.vehicles_seen,
        message.mean_speed_kmh === null ? null : round1(message.mean_speed_kmh),
        message.incidents_opened,
        message.incidents_open,
        message.people_present,
        message.net_inflow,
      ],
      src,
    );
  }

  private applyWatermark(message: WatermarkMessage, src: number): void {
    let byPartition = this.watermarks.get(message.stream);
    if (!byPartition) {
      byPartition = new Map();
      this.watermarks.set(message.stream, byPartition);
    }
    const previous = byPartition.get(message.partition);
    if (previous && previous.watermark >= message.watermark) return;
    byPartition.set(message.partition, { watermark: message.watermark, at: message.at });
    let at = 0;
    for (const entry of byPartition.values()) at = Math.max(at, entry.at);
    const watermark = this.streamWatermark(message.stream)!;
    const status = { stream: message.stream, watermark, at, partitions: byPartition.size };
    if (!sameJson(this.channel('status').get(message.stream), status))
      this.upsert('status', message.stream, status, src);
    // A moving watermark can close a minute: the district indicators may change.
    for (const district of this.districtsOf(message.stream)) this.markDistrict(district, src);
  }

  private districtsOf(stream: Stream): string[] {
    const out: string[] = [];
    for (const key of this.recentWindows.keys()) {
      const [s, district] = key.split('|');
      if (s === stream && district !== undefined) out.push(district);
    }
    return out;
  }
}

function mergeAlert(previous: AlertEntity, next: AlertEntity): AlertEntity {
  const merged = { ...previous } as Record<string, unknown>;
  for (const [field, value] of Object.entries(next)) if (value !== null) merged[field] = value;
  return merged as unknown as AlertEntity;
}

function sameJson(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function round5(value: number): number {
  return Math.round(value * 1e5) / 1e5;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
