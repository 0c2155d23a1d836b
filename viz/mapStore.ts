import type { AlertEntity } from '../engine/server/alertEvent.ts';
import type { DistrictIndicators } from '../engine/server/liveState.ts';
import type { Entry } from '../engine/server/protocol.ts';
import { VehicleBuffer } from './layers/vehicleBuffer.ts';

/** An incident as the server sends it (reporter never included). */
export interface Incident {
  id: string;
  ts: number;
  category: string;
  severity: number;
  status: 'open' | 'closed';
  lat: number;
  lon: number;
  district: string;
  cell: string | null;
  source: string | null;
  description: string | null;
  impact: {
    ts: number;
    radius_m: number;
    vehicles: number;
    people_present: number;
    nearest_vehicles: Array<{ vehicle: string; mode: string; distance_m: number }>;
    /** The base libraries as of the incident (docs/base.md); residents of 1 to 4 are null ("<5"). */
    base?: {
      buildings: number;
      dwellings: number;
      residents: Record<'under_14' | 'from_14_to_64' | 'from_65', number | null>;
      legal_persons: number;
      by_industry: Record<string, number>;
      sensitive_sites: Array<{
        legal_person_id: string;
        industry: string;
        building_id: string;
        distance_m: number;
      }>;
      affected_buildings: Array<[string, number, number]>;
    } | null;
  } | null;
}

/** One pulse minute: [vehicles_seen, mean_speed_kmh, incidents_opened, incidents_open, people_present, net_inflow]. */
export type PulseTuple = [number, number | null, number, number, number, number];

export interface StreamStatus {
  stream: string;
  watermark: number;
  at: number;
  partitions: number;
}

/**
 * Everything the page has received, by layer, with a version per layer so that the render loop
 * rebuilds only the layers that changed. Fed by `LiveClient` topic updates.
 */
export class MapStore {
  readonly vehicles = new VehicleBuffer();
  /** cells topic -> cell -> [present, inflow, outflow] */
  readonly cells = new Map<string, Map<string, [number, number, number]>>();
  readonly incidents = new Map<string, Incident>();
  readonly districts = new Map<string, DistrictIndicators>();
  /** district -> minute (epoch ms) -> pulse */
  readonly pulse = new Map<string, Map<number, PulseTuple>>();
  readonly alerts = new Map<string, AlertEntity>();
  readonly status = new Map<string, StreamStatus>();
  readonly versions = { vehicles: 0, cells: 0, incidents: 0, districts: 0, pulse: 0, alerts: 0, status: 0 };

  /** Applies one topic update from the live client. */
  apply(topic: string, up: Entry[], rm: string[], reset: boolean): void {
    const slash = topic.indexOf('/');
    const layer = slash < 0 ? topic : topic.slice(0, slash);
    switch (layer) {
      case 'vehicles': {
        if (reset) this.vehicles.resetTopic(topic);
        for (const key of rm) this.vehicles.remove(topic, key);
        for (const [key, value] of up)
          this.vehicles.upsert(topic, key, value as [number, number, string, number | null, number]);
        this.versions.vehicles += 1;
        break;
      }
      case 'cells': {
        let cells = this.cells.get(topic);
        if (!cells || reset) {
          cells = new Map();
          this.cells.set(topic, cells);
        }
        for (const key of rm) cells.delete(key);
        for (const [key, value] of up) cells.set(key, value as [number, number, number]);
        if (reset && up.length === 0) this.cells.delete(topic);
        this.versions.cells += 1;
        break;
      }
      case 'incidents': {
        const prefix = topic.slice(slash + 1);
        if (reset)
          for (const [id, incident] of this.incidents)
            if (incident.district === prefix) this.incidents.delete(id);
        for (const key of rm) this.incidents.delete(key);
        for (const [key, value] of up) this.incidents.set(key, value as Incident);
        this.versions.incidents += 1;
        break;
      }
      case 'districts':
        applyMap(this.districts, up, rm, reset);
        this.versions.districts += 1;
        break;
      case 'alerts':
        applyMap(this.alerts, up, rm, reset);
        this.versions.alerts += 1;
        break;
      case 'status':
        applyMap(this.status, up, rm, reset);
        this.versions.status += 1;
        break;
      case 'pulse': {
        if (reset) this.pulse.clear();
        for (const key of rm) {
          const [district, minute] = key.split('|');
          this.pulse.get(district ?? '')?.delete(Number(minute));
        }
        for (const [key, value] of up) {
          const [district = '', minute] = key.split('|');
          let byMinute = this.pulse.get(district);
          if (!byMinute) {
            byMinute = new Map();
            this.pulse.set(district, byMinute);
          }
          byMinute.set(Number(minute), value as PulseTuple);
        }
        this.versions.pulse += 1;
        break;
      }
    }
  }

  /** All cells of the subscribed resolution, for the hexagon layer. */
  cellList(): Array<{ hex: string; present: number }> {
    const out: Array<{ hex: string; present: number }> = [];
    for (const cells of this.cells.values()) for (const [hex, v] of cells) out.push({ hex, present: v[0] });
    return out;
  }

  /** Seconds the slowest input stream is behind wall clock (watermark lag), or null before any status. */
  secondsBehind(now = Date.now()): number | null {
    let oldest = Number.POSITIVE_INFINITY;
    for (const status of this.status.values()) oldest = Math.min(oldest, status.watermark);
    return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : null;
  }
}

function applyMap<V>(map: Map<string, V>, up: Entry[], rm: string[], reset: boolean): void {
  if (reset) map.clear();
  for (const key of rm) map.delete(key);
  for (const [key, value] of up) map.set(key, value as V);
}
