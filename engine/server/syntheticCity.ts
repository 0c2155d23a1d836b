import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import { latLngToCell } from 'h3-js';
import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import {
  type AggregateMessage,
  type DistrictWindowMessage,
  districtWindowMessage,
  type IncidentImpactMessage,
} from '../contract/aggregates.ts';
import { TRANSPORT_MODES } from '../contract/exchangeRecords.ts';
import { loadDistrictBoundaries } from './districtBoundaries.ts';

/** Size and shape of the synthetic city; every field has a default. */
export interface SyntheticCityOptions {
  /** Vehicles moving (default 2000). */
  vehicles: number;
  /** H3 cells with people counts (default 1000). */
  cells: number;
  /** H3 resolution of the cells (default 9). */
  resolution: number;
  /** Source partitions the aggregates claim to come from (default 2). */
  partitions: number;
  /** Vehicles or cells per Kafka message (default 2000, well under the 1 MB record limit). */
  batchSize: number;
  /** Seed of the pseudo-random generator (default 1). */
  seed: number;
  /** New incidents per tick, on average (default 0.2). */
  incidentRate: number;
}

const DEFAULTS: SyntheticCityOptions = {
  vehicles: 2000,
  cells: 1000,
  resolution: 9,
  partitions: 2,
  batchSize: 2000,
  seed: 1,
  incidentRate: 0.2,
};

const MODES = TRANSPORT_MODES;
/** Categories of the exchange contract (engine/contract/exchangeRecords.ts EVENT_CATEGORIES). */
const CATEGORIES = [
  'traffic_accident',
  'congestion',
  'road_damage',
  'fire',
  'flooding',
  'public_order',
  'medical',
];
const STREAMS: Array<DistrictWindowMessage['stream']> = ['transport', 'events', 'population'];

interface Vehicle {
  id: string;
  mode: string;
  lat: number;
  lon: number;
  heading: number;
  speed: number;
  district: string;
  bbox: [number, number, number, number];
}

interface Cell {
  cell: string;
  district: string;
  present: number;
}

/**
 * A deterministic stand-in for the engine: valid `city.aggregates` messages (engine/contract/aggregates.ts)
 * for vehicles moving inside the real Shenzhen districts, people counts on H3 cells, per-minute district
 * windows, watermarks, incidents with their impact, and district pulse. The map server's tests and the
 * fan-out benchmark use it until (and besides) a real engine run; `city-ops serve --demo` shows it.
 *
 * @example
 * const city = new SyntheticCity({ vehicles: 50_000, cells: 10_000 });
 * const messages = city.tick(Date.now()); // one second of the city
 */
export class SyntheticCity {
  readonly options: SyntheticCityOptions;
  readonly vehicles: Vehicle[] = [];
  readonly cells: Cell[] = [];
  private readonly random: () => number;
  private readonly districts = loadDistrictBoundaries();
  private readonly windows = new Map<string, DistrictWindowMessage>();
  private readonly openIncidents: Array<{ id: string; opened: number; message: AggregateMessage }> = [];
  private incidentSeq = 0;
  private lastTick = 0;
  private lastMinute = 0;

  constructor(options: Partial<SyntheticCityOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULTS, ...options });
    this.random = mulberry32(this.options.seed);
    const features = this.districts.geojson.features;
    const seen = new Set<string>();
    for (let i = 0; i < this.options.vehicles; i += 1) {
      const feature = features[i % features.length]!;
      const [lon, lat] = this.pointIn(feature);
      this.vehicles.push({
        id: `V${String(i).padStart(6, '0')}`,
        mode: MODES[Math.floor(this.random() * MODES.length)]!,
        lat,
        lon,
        heading: this.random() * Math.PI * 2,
        speed: 10 + this.random() * 50,
        district: feature.id,
        bbox: this.districts.districts.find((d) => d.code === feature.id)!.bbox,
      });
    }
    let attempts = 0;
    while (this.cells.length < this.options.cells && attempts < this.options.cells * 20) {
      attempts += 1;
      const feature = features[attempts % features.length]!;
      const [lon, lat] = this.pointIn(feature);
      const cell = latLngToCell(lat, lon, this.options.resolution);
      if (seen.has(cell)) continue;
      seen.add(cell);
      this.cells.push({ cell, district: feature.id, present: Math.floor(50 + this.random() * 500) });
    }
  }

  /** One step of the city at wall-clock `now` (ms): every vehicle moves and reports, every cell reports. */
  tick(now: number): AggregateMessage[] {
    const dt = this.lastTick ? Math.min(5, (now - this.lastTick) / 1000) : 1;
    this.lastTick = now;
    const out: AggregateMessage[] = [];
    const { partitions, batchSize } = this.options;
    const minute = Math.floor(now / 60_000) * 60_000;

    for (let p = 0; p < partitions; p += 1) {
      const mine = this.vehicles.filter((_, i) => i % partitions === p);
      for (let start = 0; start < mine.length; start += batchSize) {
        const batch = mine.slice(start, start + batchSize).map((v) => this.move(v, dt, now));
        out.push({ kind: 'vehicle_positions', partition: p, ts: now, vehicles: batch });
      }
      const cells = this.cells.filter((_, i) => i % partitions === p);
      for (let start = 0; start < cells.length; start += batchSize) {
        const batch = cells.slice(start, start + batchSize).map((c) => {
          const change = Math.round((this.random() - 0.5) * 20);
          c.present = Math.max(0, c.present + change);
          return {
            cell: c.cell,
            present: c.present,
            inflow: Math.max(0, change),
            outflow: Math.max(0, -change),
            ts: now,
            district: c.district,
          };
        });
        out.push({ kind: 'population_cells', partition: p, ts: now, cells: batch });
      }
    }

    if (this.lastMinute && minute > this.lastMinute) out.push(...this.closeMinute(this.lastMinute));
    this.lastMinute = minute;
    out.push(...this.updateWindows(minute, now, dt));
    out.push(...this.updateIncidents(now));
    for (const stream of STREAMS) {
      for (let p = 0; p < partitions; p += 1) {
        out.push({ kind: 'watermark', stream, partition: p, watermark: now - 2000, at: now });
      }
    }
    return out;
  }

  private move(v: Vehicle, dt: number, now: number) {
    const meters = (v.speed / 3.6) * dt;
    v.lat += (Math.cos(v.heading) * meters) / 111_000;
    v.lon += (Math.sin(v.heading) * meters) / (111_000 * Math.cos((v.lat * Math.PI) / 180));
    if (v.lon < v.bbox[0] || v.lon > v.bbox[2] || v.lat < v.bbox[1] || v.lat > v.bbox[3]) {
      v.heading += Math.PI;
      v.lon = Math.min(v.bbox[2], Math.max(v.bbox[0], v.lon));
      v.lat = Math.min(v.bbox[3], Math.max(v.bbox[1], v.lat));
    }
    if (this.random() < 0.05) v.heading += (this.random() - 0.5) * 1.5;
    v.speed = Math.min(80, Math.max(0, v.speed + (this.random() - 0.5) * 6));
    return {
      vehicle: v.id,
      mode: v.mode,
      lat: v.lat,
      lon: v.lon,
      ts: now,
      speed_kmh: Math.round(v.speed * 10) / 10,
      district: v.district,
    };
  }

  private updateWindows(minute: number, now: number, dt: number): DistrictWindowMessage[] {
    const out: DistrictWindowMessage[] = [];
    for (const { code } of this.districts.districts) {
      const vehicles = this.vehicles.filter((v) => v.district === code);
      const cells = this.cells.filter((c) => c.district === code);
      for (const stream of STREAMS) {
        const key = `${stream}|${code}`;
        let window = this.windows.get(key);
        if (!window || window.window_start !== minute) {
          window = districtWindowMessage({ stream, district: code, window_start: minute, revision: 0 });
        }
        const next = { ...window, revision: window.revision + 1 };
        if (stream === 'transport') {
          next.events += Math.round(vehicles.length * dt);
          next.distinct_keys = vehicles.length;
          next.speed_sum += vehicles.reduce((sum, v) => sum + v.speed, 0);
          next.speed_count += vehicles.length;
        } else if (stream === 'population') {
          next.events += Math.round(cells.length * dt);
          next.distinct_keys = cells.length;
          next.present = cells.reduce((sum, c) => sum + c.present, 0);
          next.inflow += Math.round(this.random() * 30);
          next.outflow += Math.round(this.random() * 30);
        } else if (this.random() < 0.3) {
          next.events += 1;
          next.opened += 1;
          if (this.random() < 0.2) next.severe += 1;
        }
        this.windows.set(key, next);
        out.push(next);
        void now;
      }
    }
    return out;
  }

  private closeMinute(minute: number): AggregateMessage[] {
    const out: AggregateMessage[] = [];
    for (const { code } of this.districts.districts) {
      let speed: number | null = null;
      let vehiclesSeen = 0;
      let present = 0;
      let opened = 0;
      let netInflow = 0;
      for (const stream of STREAMS) {
        const window = this.windows.get(`${stream}|${code}`);
        if (!window || window.window_start !== minute) continue;
        out.push({ ...window, revision: window.revision + 1, final: true });
        if (stream === 'transport') {
          vehiclesSeen = window.distinct_keys;
          speed = window.speed_count > 0 ? window.speed_sum / window.speed_count : null;
        } else if (stream === 'population') {
          present = window.present;
          netInflow = window.inflow - window.outflow;
        } else opened = window.opened;
      }
      out.push({
        kind: 'district_pulse',
        district: code,
        window_start: minute,
        vehicles_seen: vehiclesSeen,
        mean_speed_kmh: speed,
        incidents_opened: opened,
        incidents_open: this.openIncidents.filter(
          (i) => (i.message as { district: string }).district === code,
        ).length,
        people_present: present,
        net_inflow: netInflow,
      });
    }
    return out;
  }

  private updateIncidents(now: number): AggregateMessage[] {
    const out: AggregateMessage[] = [];
    if (this.random() < this.options.incidentRate) {
      const v = this.vehicles[Math.floor(this.random() * this.vehicles.length)];
      if (v) {
        this.incidentSeq += 1;
        const id = `INC-${this.options.seed}-${this.incidentSeq}`;
        const category = CATEGORIES[Math.floor(this.random() * CATEGORIES.length)]!;
        const severity = 1 + Math.floor(this.random() * 5);
        const incident: AggregateMessage = {
          kind: 'incident',
          id: `${id}-r1`,
          incident_id: id,
          ts: now,
          category,
          severity,
          status: 'open',
          lat: v.lat,
          lon: v.lon,
          district: v.district,
          cell: latLngToCell(v.lat, v.lon, 9),
          source: 'grid-staff',
          description: `${category} reported near ${v.id}`,
          reporter: null,
        };
        this.openIncidents.push({ id, opened: now, message: incident });
        out.push(incident);
        const near = this.vehicles
          .map((o) => ({ o, d: haversineMeters(v.lat, v.lon, o.lat, o.lon) }))
          .filter((x) => x.d <= 1000)
          .sort((a, b) => a.d - b.d);
        out.push({
          kind: 'incident_impact',
          incident_id: id,
          ts: now,
          district: v.district,
          category,
          severity,
          lat: v.lat,
          lon: v.lon,
          radius_m: 1000,
          band_ms: 300_000,
          vehicles: near.length,
          nearest_vehicles: near
            .slice(0, 50)
            .map((x) => ({ vehicle: x.o.id, mode: x.o.mode, distance_m: Math.round(x.d) })),
          people_present: Math.round(100 + this.random() * 2000),
          base: this.baseFigures(v.lat, v.lon),
        });
      }
    }
    const first = this.openIncidents[0];
    if (first && now - first.opened > 90_000) {
      this.openIncidents.shift();
      out.push({
        ...(first.message as Extract<AggregateMessage, { kind: 'incident' }>),
        id: `${first.id}-r2`,
        ts: now,
        status: 'closed',
      });
    }
    return out;
  }

  private pointIn(feature: (typeof this.districts.geojson.features)[number]): [number, number] {
    const info = this.districts.districts.find((d) => d.code === feature.id)!;
    for (let i = 0; i < 200; i += 1) {
      const lon = info.bbox[0] + this.random() * (info.bbox[2] - info.bbox[0]);
      const lat = info.bbox[1] + this.random() * (info.bbox[3] - info.bbox[1]);
      if (booleanPointInPolygon([lon, lat], feature.geometry as never)) return [lon, lat];
    }
    return info.label;
  }

  /** Made-up base-library figures for the demo (the real ones come from the engine's join, docs/base.md). */
  private baseFigures(lat: number, lon: number): NonNullable<IncidentImpactMessage['base']> {
    const buildings = 5 + Math.floor(this.random() * 40);
    const affected: Array<[string, number, number]> = Array.from({ length: buildings }, (_, i) => [
      `B-demo-${i}`,
      lat + (this.random() - 0.5) * 0.008,
      lon + (this.random() - 0.5) * 0.008,
    ]);
    const elderly = Math.floor(this.random() * 30);
    return {
      buildings,
      dwellings: buildings * 12,
      residents: {
        under_14: Math.floor(buildings * 3 * this.random()) + 5,
        from_14_to_64: buildings * 20,
        from_65: elderly > 0 && elderly < 5 ? null : elderly,
      },
      legal_persons: Math.floor(buildings / 2),
      by_industry: { retail: Math.floor(buildings / 4), office: Math.floor(buildings / 4) },
      sensitive_sites:
        this.random() < 0.3
          ? [{ legal_person_id: 'L-demo', industry: 'school', building_id: 'B-demo-0', distance_m: 120 }]
          : [],
      affected_buildings: affected,
    };
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
