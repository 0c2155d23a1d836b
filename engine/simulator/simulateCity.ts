import { RECORD_FAULTS, type RecordFault } from '../contract/decodeRecord.ts';
import { EVENT_CATEGORIES } from '../contract/exchangeRecords.ts';
import type { StreamName } from '../contract/topics.ts';
import { ascii, isAsciiRecord, PopulationRecord, TransportRecord } from './asciiRecords.ts';
import { breakRecord } from './breakRecord.ts';
import {
  buildCityModel,
  type CityModel,
  M_PER_DEG_LAT,
  M_PER_DEG_LNG,
  makeVehicle,
  ROUTE_STEP_M,
  roamingAround,
  round6,
  type Vehicle,
} from './cityModel.ts';
import { dailyActivity, shanghaiHourOfDay } from './dailyCurve.ts';
import { fakeIdNumber, fakePhone, fakeReporter } from './fakeReporter.ts';
import {
  CLOSING_TEXTS,
  INCIDENT_KINDS,
  INCIDENT_SOURCES,
  type IncidentSource,
  REPORTER_CHANCE,
  ROADS,
} from './incidentCatalogue.ts';
import { MinHeap } from './MinHeap.ts';
import { SeededRandom } from './SeededRandom.ts';
import {
  PROVIDER_FAULTS,
  resolveSimulationOptions,
  type SimulationOptions,
  type SimulationOptionsInput,
} from './simulationOptions.ts';
import { WeightedPicker } from './WeightedPicker.ts';

/** District of a valid record whose position lies outside every district (the engine's name for it). */
export const OUTSIDE = 'outside';

/**
 * Default share of each stream in the messages (documented in docs/simulator.md): transport 80 %,
 * population 17 %, city events 3 %.
 */
export const STREAM_SHARES: Readonly<Record<StreamName, number>> = {
  transport: 0.8,
  population: 0.17,
  events: 0.03,
};

/** What the truth counts of a valid record, so it need not parse `value` again. */
export interface MessageFacts {
  /** transport: reported speed in tenths of km/h (the published value times 10, an integer). */
  readonly speedTenths?: number;
  /** events: the report's status and severity. */
  readonly status?: 'open' | 'closed';
  readonly severity?: number;
  /** population: people present, and the flows since the cell's previous report. */
  readonly present?: number;
  readonly inflow?: number;
  readonly outflow?: number;
}

/** One message as the simulator publishes it, with what the engine is expected to make of it. */
export interface SimulatedMessage {
  readonly stream: StreamName;
  /** Kafka key: vehicle id (transport), incident id (events), H3 cell (population). */
  readonly key: string;
  /** The message value exactly as published (JSON for valid records); '' is published as a null value. */
  readonly value: string;
  /** Event time, epoch ms (for broken records: the time it was sent at in the simulation). */
  readonly ts: number;
  /** valid: accepted; duplicate: a resend of an earlier valid message (same key, same bytes); invalid: dead-lettered. */
  readonly kind: 'valid' | 'duplicate' | 'invalid';
  /** For invalid messages: the reason `decodeRecord` gives. */
  readonly deadLetterReason: RecordFault | undefined;
  /** Valid and duplicate messages: the district code the engine must find, or 'outside'. Invalid: ''. */
  readonly district: string;
  /** Valid and duplicate messages: the figures the truth counts. */
  readonly facts: MessageFacts | undefined;
  /** True for the extra records of an injected surge. */
  readonly surge: boolean;
}

/** Counts of what a simulation produced so far. */
export interface SimulationStats {
  messages: number;
  valid: number;
  duplicates: number;
  invalid: number;
  surge: number;
  byStream: Record<StreamName, number>;
}

/** A running simulation: an iterator of messages in publication order, with its resolved options and stats. */
export interface CitySimulation extends IterableIterator<SimulatedMessage> {
  readonly options: SimulationOptions;
  readonly model: CityModel;
  readonly stats: Readonly<SimulationStats>;
  /** Event time reached by the generator (the newest event time generated), epoch ms. */
  readonly eventTime: number;
  /** Like `next()`, without the iterator's result object: the next message, or undefined at the end. */
  nextMessage(): SimulatedMessage | undefined;
}

/**
 * Simulates the city's three exchange streams: a pure, deterministic generator (same options, same messages,
 * byte for byte; no wall clock, no Math.random). Messages come in publication order, which differs from
 * event-time order by at most `maxDelayMs`.
 *
 * - transport: metro trains and buses moving along their lines, taxis roaming, reporting position, speed
 *   and occupancy; the active fleet and the report rate follow the daily curve.
 * - events: incidents opened where people are, closed later by a second report with the same incident_id;
 *   about half name a (fake) reporter.
 * - population: each H3 cell (resolution 8) reports people present, with inflow and outflow since its
 *   previous report (present = previous present + inflow - outflow); residential and business cells follow
 *   the working day.
 *
 * @param input options (see `SimulationOptionsSchema`); give `start` for a reproducible run
 * @example
 * for (const message of simulateCity({ seed: 1, start: '2026-11-26T00:00:00+08:00', duration: '10m', events: 10_000 })) {
 *   producer.produce(streamTopic(message.stream), null, Buffer.from(message.value), message.key);
 * }
 */
export function simulateCity(input: SimulationOptionsInput | SimulationOptions = {}): CitySimulation {
  const options = isResolved(input) ? input : resolveSimulationOptions(input);
  return new Simulation(options, buildCityModel(options.seed));
}

function isResolved(input: SimulationOptionsInput | SimulationOptions): input is SimulationOptions {
  return (
    typeof (input as SimulationOptions).end === 'number' && Array.isArray((input as SimulationOptions).surges)
  );
}

/** An incident, from its opening report until its closing one. */
interface Pending {
  readonly closeAt: number;
  readonly incidentId: string;
  /** Position in INCIDENT_KINDS. */
  readonly kind: number;
  readonly severity: number;
  readonly lat: number;
  readonly lon: number;
  readonly district: string;
  readonly source: IncidentSource;
}

interface ActiveSurge {
  readonly district: number;
  readonly code: string;
  readonly start: number;
  readonly end: number;
  readonly extra: number;
  transportCarry: number;
  eventsCarry: number;
  fleet: Vehicle[] | null;
}

const KIND_PICKER = new WeightedPicker(INCIDENT_KINDS.map((k) => k.weight));
const SEVERITY_PICKERS = INCIDENT_KINDS.map((k) => new WeightedPicker([...k.severities]));
const SOURCE_PICKERS = INCIDENT_KINDS.map((k) => new WeightedPicker([...k.sources]));
const COACHES = 40;
const SURGE_FLEET = 150;

class Simulation implements CitySimulation {
  readonly options: SimulationOptions;
  readonly model: CityModel;
  readonly stats: SimulationStats = {
    messages: 0,
    valid: 0,
    duplicates: 0,
    invalid: 0,
    surge: 0,
    byStream: { transport: 0, events: 0, population: 0 },
  };
  eventTime: number;

  readonly #random: SeededRandom;
  readonly #surgeRandom: SeededRandom;
  readonly #queue = new MinHeap<SimulatedMessage>();
  readonly #closes = new MinHeap<Pending>();
  readonly #surgeCloses = new MinHeap<Pending>();
  readonly #tag: string;
  readonly #transportPrefix: Uint8Array;
  readonly #surgeTransportPrefix: Uint8Array;
  readonly #populationPrefix: Uint8Array;
  readonly #codes: readonly string[];
  readonly #surges: ActiveSurge[];
  readonly #fleet: readonly Vehicle[];
  readonly #coaches: readonly Vehicle[];
  // Schedule.
  #second = -1;
  #secondStart = 0;
  #secondLength = 0;
  #slots = 0;
  #slot = 0;
  #base = 0;
  #expected = 0;
  #emittedTarget = 0;
  readonly #scale: number;
  #frontier = Number.NEGATIVE_INFINITY;
  #finished = false;
  // Conditions of the current second.
  #activity = 1;
  #atWork = 0;
  #congestion = 1;
  #activeFleet = 1;
  #fleetCursor = 0;
  #cellCursor = 0;
  // Population state per cell.
  readonly #present: Int32Array;
  readonly #lastReport: Float64Array;
  // Counters of ids.
  #transportIds = 0;
  #eventIds = 0;
  #incidentIds = 0;
  #populationIds = 0;
  #surgeIds = 0;
  #surgeIncidentIds = 0;

  constructor(options: SimulationOptions, model: CityModel) {
    this.options = options;
    this.model = model;
    this.#random = new SeededRandom(options.seed);
    this.#surgeRandom = new SeededRandom(options.seed ^ 0x5a5a5a5a);
    this.#codes = model.districtCodes;
    this.#fleet = model.fleet;
    this.#coaches = Array.from({ length: COACHES }, (_, k) =>
      makeVehicle({
        id: `coach-HK${String(k + 1).padStart(3, '0')}`,
        mode: 'bus',
        route: null,
        routeId: 'cross-border',
        phaseM: 0,
        speedMps: 0,
        capacity: 55,
      }),
    );
    this.#tag = options.live
      ? `${options.seed}.${Math.floor(options.start / 1000).toString(36)}`
      : String(options.seed);
    this.#transportPrefix = ascii(`{"id":"t-${this.#tag}-`);
    this.#surgeTransportPrefix = ascii(`{"id":"t-${this.#tag}-s`);
    this.#populationPrefix = ascii(`{"id":"p-${this.#tag}-`);
    this.#present = new Int32Array(model.cells.length).fill(-1);
    this.#lastReport = new Float64Array(model.cells.length);
    this.eventTime = options.start;
    this.#surges = options.surges.map((surge) => ({
      district: this.#codes.indexOf(surge.district),
      code: surge.district,
      start: surge.start,
      end: surge.start + surge.minutes * 60_000,
      extra: surge.factor - 1,
      transportCarry: 0,
      eventsCarry: 0,
      fleet: null,
    }));
    if (options.live) {
      this.#scale = options.rate === 'max' ? 1 : options.rate;
    } else {
      // Events per second follow the daily curve, scaled so that exactly `events` fall in [start, end).
      let total = 0;
      for (let s = options.start; s < options.end; s += 1000) total += this.#weightOf(s);
      this.#scale = total > 0 ? options.events / total : 0;
    }
  }

  [Symbol.iterator](): IterableIterator<SimulatedMessage> {
    return this;
  }

  next(): IteratorResult<SimulatedMessage> {
    const message = this.nextMessage();
    return message === undefined ? { value: undefined, done: true } : { value: message, done: false };
  }

  nextMessage(): SimulatedMessage | undefined {
    const queue = this.#queue;
    for (;;) {
      if (queue.size > 0 && (this.#finished || queue.peekKey() < this.#frontier)) {
        const message = queue.pop()!;
        this.#count(message);
        return message;
      }
      if (this.#finished) return undefined;
      this.#generateSlot();
    }
  }

  #count(message: SimulatedMessage): void {
    const stats = this.stats;
    stats.messages++;
    const byStream = stats.byStream;
    if (message.stream === 'transport') byStream.transport++;
    else if (message.stream === 'population') byStream.population++;
    else byStream.events++;
    if (message.kind === 'valid') stats.valid++;
    else if (message.kind === 'duplicate') stats.duplicates++;
    else stats.invalid++;
    if (message.surge) stats.surge++;
  }

  /** Expected events of the second starting at `s` (relative units: activity times the second's length). */
  #weightOf(s: number): number {
    const length = Math.min(1000, this.options.end - s);
    return dailyActivity(s + length / 2) * (length / 1000);
  }

  #nextSecond(): boolean {
    const options = this.options;
    this.#second++;
    const s = options.start + this.#second * 1000;
    if (s >= options.end || this.#base >= options.events) return false;
    this.#secondStart = s;
    this.#secondLength = Math.min(1000, options.end - s);
    this.#expected += this.#weightOf(s) * this.#scale;
    const target = options.live
      ? Math.floor(this.#expected)
      : s + 1000 >= options.end
        ? options.events
        : Math.min(options.events, Math.round(this.#expected));
    this.#slots = Math.max(0, target - this.#emittedTarget);
    this.#emittedTarget = Math.max(this.#emittedTarget, target);
    this.#slot = 0;
    const middle = s + this.#secondLength / 2;
    const activity = dailyActivity(middle);
    this.#activity = activity;
    const hour = shanghaiHourOfDay(middle);
    this.#atWork = logistic((hour - 8.1) / 0.45) * logistic((18.4 - hour) / 0.55);
    this.#congestion = Math.min(1.1, Math.max(0.55, 1.12 - 0.22 * activity));
    this.#activeFleet = Math.ceil(this.model.fleet.length * (0.35 + 0.65 * Math.min(1, activity / 2.27)));
    return true;
  }

  #generateSlot(): void {
    while (this.#slot >= this.#slots) {
      if (!this.#nextSecond()) {
        this.#finished = true;
        return;
      }
    }
    const options = this.options;
    const random = this.#random;
    const ts =
      this.#secondStart + Math.floor(((this.#slot + random.next()) * this.#secondLength) / this.#slots);
    this.#slot++;
    this.#base++;
    if (options.live && this.#base >= options.events) this.#slots = this.#slot;
    this.#frontier = ts;
    this.eventTime = ts;
    const bad = options.badRatio > 0 && random.next() < options.badRatio;
    const reason = bad ? RECORD_FAULTS[random.int(RECORD_FAULTS.length)]! : undefined;
    if (this.#surgeCloses.size > 0) this.#closeSurgeIncidents(ts);
    const u = random.next();
    if (u < STREAM_SHARES.transport) this.#transport(ts, reason, random, null);
    else if (u < STREAM_SHARES.transport + STREAM_SHARES.population) {
      if (!this.#silent(ts)) this.#population(ts, reason, random);
    } else this.#incident(ts, this.#eventsFault(reason, random), random, -1);
  }

  /** `--faulty-providers`: the population provider sends nothing for an hour. */
  #silent(ts: number): boolean {
    if (!this.options.faultyProviders) return false;
    const from = this.options.start + PROVIDER_FAULTS.silentAfterMs;
    return ts >= from && ts < from + PROVIDER_FAULTS.silentForMs;
  }

  /** `--faulty-providers`: the events provider breaks 5% more of its records. */
  #eventsFault(reason: RecordFault | undefined, random: SeededRandom): RecordFault | undefined {
    if (!this.options.faultyProviders || reason !== undefined) return reason;
    return random.next() < PROVIDER_FAULTS.invalidRatio
      ? RECORD_FAULTS[random.int(RECORD_FAULTS.length)]!
      : undefined;
  }

  /** Queues a message at publication time ts + delay, and a duplicate of it when one is drawn. */
  #enqueue(message: SimulatedMessage, random: SeededRandom): void {
    const maxDelay = this.options.maxDelayMs;
    // Delays skew short (u^2): most records arrive quickly, a few wait nearly the maximum.
    const u = random.next();
    // `--faulty-providers`: the transport provider publishes everything late.
    const late = this.options.faultyProviders && message.stream === 'transport' ? PROVIDER_FAULTS.lateMs : 0;
    const delay = Math.floor(u * u * (maxDelay + 1)) + late;
    this.#queue.push(message.ts + delay, message);
    if (message.kind === 'valid' && !message.surge && this.options.duplicateRatio > 0) {
      if (random.next() < this.options.duplicateRatio) {
        const resend = delay + Math.floor(random.next() * (maxDelay - delay + 1));
        const again = isAsciiRecord(message) ? message.resent() : { ...message, kind: 'duplicate' as const };
        this.#queue.push(message.ts + resend, again);
      }
    }
  }

  #transport(
    ts: number,
    reason: RecordFault | undefined,
    random: SeededRandom,
    surge: ActiveSurge | null,
  ): void {
    const options = this.options;
    const index = this.model.geography.index;
    const activity = this.#activity;
    let vehicle: Vehicle | null = null;
    let lng = 0;
    let lat = 0;
    let routePoint = -1;
    let district: number;
    let speed: number;
    let occupancy: number;
    if (surge === null && options.outsideRatio > 0 && random.next() < options.outsideRatio) {
      // A cross-border coach, just outside the city's boundary.
      const coach = random.int(COACHES);
      const points = this.model.outsidePoints;
      const at = ((coach * 97 + Math.floor(ts / 30_000)) % (points.length / 2)) * 2;
      lng = points[at]!;
      lat = points[at + 1]!;
      district = -1;
      vehicle = this.#coaches[coach]!;
      speed = random.between(30, 80);
      occupancy = 5 + random.int(45);
    } else {
      if (surge === null) {
        vehicle = this.#fleet[this.#fleetCursor % this.#activeFleet]!;
        this.#fleetCursor = (this.#fleetCursor + 1) % this.#activeFleet;
      } else {
        const fleet = this.#surgeFleet(surge);
        vehicle = fleet[random.int(fleet.length)]!;
      }
      const path = vehicle.route;
      if (path !== null) {
        const loop = 2 * path.lengthM;
        let s = (vehicle.phaseM + (vehicle.speedMps * ts) / 1000) % loop;
        if (s > path.lengthM) s = loop - s;
        const i = Math.min(path.lngs.length - 1, Math.floor(s / ROUTE_STEP_M));
        lng = path.lngs[i]!;
        lat = path.lats[i]!;
        routePoint = i;
        district = index.lookupIndex(lng, lat);
        const load = Math.min(1.25, 0.05 + 0.42 * activity);
        if (vehicle.mode === 'metro') {
          speed = random.next() < 0.18 ? random.next() * 4 : random.between(38, 78);
          occupancy = Math.round(vehicle.capacity * load * random.between(0.75, 1.25));
        } else {
          speed =
            random.next() < 0.2
              ? random.next() * 3
              : vehicle.speedMps * 3.6 * this.#congestion * random.between(0.7, 1.35);
          occupancy = Math.round(vehicle.capacity * load * random.between(0.6, 1.3));
        }
      } else {
        const t = ts / 1000;
        const aLng = vehicle.wLng * t + vehicle.phaseLng;
        const aLat = vehicle.wLat * t + vehicle.phaseLat;
        lng = round6(vehicle.homeLng + vehicle.ampLng * Math.sin(aLng));
        lat = round6(vehicle.homeLat + vehicle.ampLat * Math.sin(aLat));
        district = index.lookupIndex(lng, lat);
        const vx = vehicle.ampLng * vehicle.wLng * Math.cos(aLng) * M_PER_DEG_LNG;
        const vy = vehicle.ampLat * vehicle.wLat * Math.cos(aLat) * M_PER_DEG_LAT;
        speed = Math.sqrt(vx * vx + vy * vy) * 3.6 * random.between(0.85, 1.1);
        speed *= surge !== null ? 0.3 : Math.min(1, this.#congestion + 0.1);
        if (district < 0 || (surge !== null && district !== surge.district) || random.next() < 0.08) {
          // Off the map (the sea, Hong Kong) or waiting for a fare: parked at its home point.
          lng = vehicle.homeLng;
          lat = vehicle.homeLat;
          district = index.lookupIndex(lng, lat);
          speed = 0;
        }
        const busy = Math.min(0.85, 0.25 + 0.28 * activity);
        occupancy = random.next() < busy ? 1 + (random.next() < 0.7 ? 0 : random.int(3)) : 0;
      }
    }
    const speedTenths = Math.min(40_000, Math.round(speed * 10));
    const surgeRecord = surge !== null;
    const n = surgeRecord ? this.#surgeIds++ : this.#transportIds++;
    let message: SimulatedMessage;
    if (reason === undefined) {
      const path = vehicle.route;
      message = new TransportRecord(
        surgeRecord ? this.#surgeTransportPrefix : this.#transportPrefix,
        n,
        ts,
        vehicle.fragmentBytes,
        vehicle.id,
        routePoint < 0 ? null : path!.positionBytes,
        routePoint < 0 ? Math.round(lat * 1e6) : path!.positionOffsets[routePoint]!,
        routePoint < 0 ? Math.round(lng * 1e6) : path!.positionOffsets[routePoint + 1]!,
        speedTenths,
        occupancy,
        district < 0 ? OUTSIDE : this.#codes[district]!,
        surgeRecord,
      );
    } else {
      const id = `t-${this.#tag}-${surgeRecord ? 's' : ''}${n}`;
      const record: Record<string, unknown> = { id, ts, vehicle: vehicle.id, mode: vehicle.mode };
      if (vehicle.routeId !== null) record['route'] = vehicle.routeId;
      Object.assign(record, { lat, lon: lng, speed_kmh: speedTenths / 10, occupancy });
      message = this.#invalid('transport', vehicle.id, ts, record, reason, random);
    }
    this.#enqueue(message, random);
    if (surge === null && reason === undefined && district >= 0) this.#surgeExtras(ts, district, 'transport');
  }

  /** Extra records of the surges active at `ts` in `district`: (factor - 1) per normal record there. */
  #surgeExtras(ts: number, district: number, stream: 'transport' | 'events'): void {
    for (const surge of this.#surges) {
      if (surge.district !== district || ts < surge.start || ts >= surge.end) continue;
      if (stream === 'transport') {
        surge.transportCarry += surge.extra;
        while (surge.transportCarry >= 1) {
          surge.transportCarry -= 1;
          this.#transport(ts, undefined, this.#surgeRandom, surge);
        }
      } else {
        surge.eventsCarry += surge.extra;
        while (surge.eventsCarry >= 1) {
          surge.eventsCarry -= 1;
          this.#incident(ts, undefined, this.#surgeRandom, district);
        }
      }
    }
  }

  /** Taxis sent into a surging district (plates BF..., a series the normal fleet never uses). */
  #surgeFleet(surge: ActiveSurge): Vehicle[] {
    if (surge.fleet !== null) return surge.fleet;
    const random = new SeededRandom(this.options.seed ^ (surge.start / 1000) ^ Number(surge.code));
    const { cells, picker } = this.model.cellsByDistrict[surge.district]!;
    surge.fleet = Array.from({ length: SURGE_FLEET }, (_, k) => {
      const home = cells[picker.draw(random)]!;
      return makeVehicle({
        ...roamingAround(home.lng, home.lat, random, 0.3),
        id: `taxi-BF${String(surge.district * 10_000 + k).padStart(5, '0')}`,
        mode: 'taxi',
        route: null,
        phaseM: 0,
        speedMps: 0,
        capacity: 4,
      });
    });
    return surge.fleet;
  }

  #population(ts: number, reason: RecordFault | undefined, random: SeededRandom): void {
    const cells = this.model.cells;
    const c = this.#cellCursor;
    this.#cellCursor = (c + 1) % cells.length;
    const cell = cells[c]!;
    const atWork = this.#atWork;
    const expected = cell.residents * (1 - 0.45 * atWork) + cell.workers * (0.15 + 0.85 * atWork);
    const present = Math.max(0, Math.round(expected * (1 + 0.015 * random.normal())));
    let previous = this.#present[c]!;
    let minutes = 1;
    if (previous < 0) previous = Math.round(expected);
    else minutes = Math.min(60, (ts - this.#lastReport[c]!) / 60_000);
    const churn = Math.round(previous * 0.003 * minutes * this.#activity * random.between(0.5, 1.5));
    const inflow = churn + Math.max(0, present - previous);
    const outflow = churn + Math.max(0, previous - present);
    const n = this.#populationIds++;
    let message: SimulatedMessage;
    if (reason === undefined) {
      // A lost (broken) report leaves the cell's state alone: the next one carries the flows since the last good one.
      this.#present[c] = present;
      this.#lastReport[c] = ts;
      message = new PopulationRecord(
        this.#populationPrefix,
        n,
        ts,
        cell.cell,
        cell.fragmentBytes,
        present,
        inflow,
        outflow,
        this.#codes[cell.district]!,
      );
    } else {
      const id = `p-${this.#tag}-${n}`;
      const record = { id, ts, h3: cell.cell, lat: cell.lat, lon: cell.lng, present, inflow, outflow };
      message = this.#invalid('population', cell.cell, ts, record, reason, random);
    }
    this.#enqueue(message, random);
  }

  /**
   * One city-events report: the closing report of an incident whose time has come, else a new incident.
   * `surgeDistrict` >= 0 opens an extra incident there (a surge), with the surge's own random sequence,
   * ids and close queue, so that the normal stream is the same with or without surges.
   */
  #incident(ts: number, reason: RecordFault | undefined, random: SeededRandom, surgeDistrict: number): void {
    const surge = surgeDistrict >= 0;
    const closes = surge ? this.#surgeCloses : this.#closes;
    const id = surge ? `e-${this.#tag}-s${this.#surgeIds++}` : `e-${this.#tag}-${this.#eventIds++}`;
    let record: Record<string, unknown>;
    let pending: Pending;
    if (!surge && closes.peekKey() <= ts) {
      pending = closes.pop()!;
      record = this.#closingRecord(id, ts, pending, random);
    } else {
      const key = surge
        ? `inc-${this.#tag}-s${this.#surgeIncidentIds++}`
        : `inc-${this.#tag}-${this.#incidentIds++}`;
      pending = this.#openIncident(key, ts, random, surgeDistrict);
      record = this.#openingRecord(id, ts, pending, random);
      closes.push(pending.closeAt, pending);
    }
    const status = record['status'] as 'open' | 'closed';
    const message: SimulatedMessage =
      reason === undefined
        ? {
            stream: 'events',
            key: pending.incidentId,
            value: JSON.stringify(record),
            ts,
            kind: 'valid',
            deadLetterReason: undefined,
            district: pending.district,
            facts: { status, severity: pending.severity },
            surge,
          }
        : this.#invalid('events', pending.incidentId, ts, record, reason, random);
    this.#enqueue(message, random);
    if (!surge && reason === undefined && status === 'open' && pending.district !== OUTSIDE) {
      this.#surgeExtras(ts, this.#codes.indexOf(pending.district), 'events');
    }
  }

  /** Closing reports of surge incidents that are due at `ts` (they ride along the normal stream's time). */
  #closeSurgeIncidents(ts: number): void {
    const closes = this.#surgeCloses;
    while (closes.peekKey() <= ts) {
      const pending = closes.pop()!;
      const random = this.#surgeRandom;
      const record = this.#closingRecord(`e-${this.#tag}-s${this.#surgeIds++}`, ts, pending, random);
      this.#enqueue(
        {
          stream: 'events',
          key: pending.incidentId,
          value: JSON.stringify(record),
          ts,
          kind: 'valid',
          deadLetterReason: undefined,
          district: pending.district,
          facts: { status: 'closed', severity: pending.severity },
          surge: true,
        },
        random,
      );
    }
  }

  /** Where, what and how bad a new incident is, and when it will be closed. */
  #openIncident(incidentId: string, ts: number, random: SeededRandom, surgeDistrict: number): Pending {
    const index = this.model.geography.index;
    let lng: number;
    let lat: number;
    let at: number;
    if (surgeDistrict < 0 && this.options.outsideRatio > 0 && random.next() < this.options.outsideRatio) {
      const points = this.model.outsidePoints;
      const p = random.int(points.length / 2) * 2;
      lng = points[p]!;
      lat = points[p + 1]!;
      at = -1;
    } else {
      const { cells, picker } =
        surgeDistrict < 0
          ? { cells: this.model.cells, picker: this.model.incidentCells }
          : this.model.cellsByDistrict[surgeDistrict]!;
      const cell = cells[picker.draw(random)]!;
      lng = round6(cell.lng + (random.next() - 0.5) * 0.008);
      lat = round6(cell.lat + (random.next() - 0.5) * 0.007);
      at = index.lookupIndex(lng, lat);
      if (at < 0 || (surgeDistrict >= 0 && at !== surgeDistrict)) {
        lng = cell.lng;
        lat = cell.lat;
        at = cell.district;
      }
    }
    const k = KIND_PICKER.draw(random);
    const kind = INCIDENT_KINDS[k]!;
    const minutes = Math.min(1_440, Math.max(2, kind.medianMinutes * Math.exp(0.6 * random.normal())));
    return {
      closeAt: ts + Math.round(minutes * 60_000),
      incidentId,
      kind: k,
      severity: SEVERITY_PICKERS[k]!.draw(random) + 1,
      lat,
      lon: lng,
      district: at < 0 ? OUTSIDE : this.#codes[at]!,
      source: INCIDENT_SOURCES[SOURCE_PICKERS[k]!.draw(random)]!,
    };
  }

  #openingRecord(id: string, ts: number, incident: Pending, random: SeededRandom): Record<string, unknown> {
    const kind = INCIDENT_KINDS[incident.kind]!;
    const record: Record<string, unknown> = {
      id,
      incident_id: incident.incidentId,
      ts,
      category: kind.category,
      severity: incident.severity,
      lat: incident.lat,
      lon: incident.lon,
      status: 'open',
      source: incident.source,
      description: random.pick(kind.texts).replace('{road}', random.pick(ROADS)),
    };
    if (random.next() < REPORTER_CHANCE[incident.source]) {
      const reporter = fakeReporter(random);
      // Some reporters leave their number or ID in the free text too: the engine must mask it there.
      if (random.next() < 0.1) record['description'] += `，联系电话${reporter.phone ?? fakePhone(random)}`;
      if (random.next() < 0.02)
        record['description'] += `，身份证号${reporter.id_number ?? fakeIdNumber(random)}`;
      record['reporter'] = reporter;
    }
    return record;
  }

  #closingRecord(id: string, ts: number, incident: Pending, random: SeededRandom): Record<string, unknown> {
    return {
      id,
      incident_id: incident.incidentId,
      ts,
      category: INCIDENT_KINDS[incident.kind]!.category,
      severity: incident.severity,
      lat: incident.lat,
      lon: incident.lon,
      status: 'closed',
      source: incident.source === 'sensor' ? 'department' : incident.source,
      description: random.pick(CLOSING_TEXTS),
    };
  }

  #invalid(
    stream: StreamName,
    key: string,
    ts: number,
    record: Record<string, unknown>,
    reason: RecordFault,
    random: SeededRandom,
  ): SimulatedMessage {
    return {
      stream,
      key,
      value: breakRecord(stream, record, reason, random),
      ts,
      kind: 'invalid',
      deadLetterReason: reason,
      district: '',
      facts: undefined,
      surge: false,
    };
  }
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The categories the simulator draws, for documentation and tests (all of the contract's). */
export const SIMULATED_CATEGORIES: readonly string[] = EVENT_CATEGORIES.filter((c) =>
  INCIDENT_KINDS.some((k) => k.category === c),
);
