import type { StreamName } from '../contract/topics.ts';
import type { MessageFacts, SimulatedMessage } from './simulateCity.ts';

/**
 * Valid transport and population records written as JSON straight into bytes: the simulator's hot path.
 * Building each record as a JavaScript string (a template literal, then flattened and UTF-8 encoded for
 * Kafka) cost more than everything else the generator does; these records are ASCII, so their digits and
 * pre-encoded fragments are written to the producer's buffer directly. `value` is produced by the same
 * writer (into a scratch buffer), so the string and the bytes cannot disagree.
 */

/** Largest encoded size of a record written here, in bytes (keys and fragments are short and bounded). */
export const ASCII_RECORD_MAX_BYTES = 512;

const scratch = Buffer.allocUnsafe(ASCII_RECORD_MAX_BYTES);

/** The bytes of an ASCII string. */
export function ascii(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

function copy(target: Uint8Array, at: number, bytes: Uint8Array, from = 0, to = bytes.length): number {
  for (let i = from; i < to; i++) target[at++] = bytes[i]!;
  return at;
}

/** Writes a non-negative integer (up to 2^53) in decimal; returns the offset after it. */
function writeUint(target: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = at + digits - 1; i >= at; i--) {
    const q = Math.floor(v / 10);
    target[i] = 48 + (v - q * 10);
    v = q;
  }
  return at + digits;
}

/**
 * Writes `units / 10^decimals` the way JavaScript prints that number (shortest form: no trailing zeros, no
 * point for a whole number). Exact for the simulator's values: degrees with 6 decimals, speeds with 1.
 */
function writeDecimal(
  target: Uint8Array,
  at: number,
  units: number,
  decimals: number,
  scale: number,
): number {
  const whole = Math.floor(units / scale);
  let fraction = units - whole * scale;
  at = writeUint(target, at, whole);
  if (fraction === 0) return at;
  let digits = decimals;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  target[at++] = 46; // '.'
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(fraction / 10);
    target[i] = 48 + (fraction - q * 10);
    fraction = q;
  }
  return end;
}

const TS = ascii('","ts":');
const COMMA = ascii(',');
const LAT = ascii('"lat":');
const LON = ascii(',"lon":');
const SPEED = ascii(',"speed_kmh":');
const OCCUPANCY = ascii(',"occupancy":');
const PRESENT = ascii(',"present":');
const INFLOW = ascii(',"inflow":');
const OUTFLOW = ascii(',"outflow":');
const CLOSE = ascii('}');

/** Shared shape of the two record classes. */
abstract class AsciiRecord implements SimulatedMessage {
  abstract readonly stream: StreamName;
  readonly key: string;
  readonly ts: number;
  readonly kind: 'valid' | 'duplicate';
  readonly deadLetterReason: undefined = undefined;
  readonly district: string;
  readonly facts: MessageFacts;
  readonly surge: boolean;
  #value: string | undefined;

  constructor(
    key: string,
    ts: number,
    kind: 'valid' | 'duplicate',
    district: string,
    facts: MessageFacts,
    surge: boolean,
  ) {
    this.key = key;
    this.ts = ts;
    this.kind = kind;
    this.district = district;
    this.facts = facts;
    this.surge = surge;
  }

  /** The record as published (built from `encodeInto`, once). */
  get value(): string {
    if (this.#value === undefined) this.#value = scratch.toString('latin1', 0, this.encodeInto(scratch, 0));
    return this.#value;
  }

  /** Writes the record's JSON at `at` (at most ASCII_RECORD_MAX_BYTES bytes); returns the offset after it. */
  abstract encodeInto(target: Uint8Array, at: number): number;

  /** The same record, sent again. */
  abstract resent(): SimulatedMessage;
}

/** A valid `city.transport` record. */
export class TransportRecord extends AsciiRecord {
  readonly stream = 'transport' as const;

  constructor(
    /** `{"id":"t-<tag>-` (or `…-s` for surge records), encoded. */
    private readonly idPrefix: Uint8Array,
    private readonly idNumber: number,
    ts: number,
    /** `"vehicle":"…","mode":"…"` (and `,"route":"…"`), encoded. */
    private readonly vehicleBytes: Uint8Array,
    vehicle: string,
    /** `"lat":…,"lon":…` fragments of a route's points back to back, null for a free position. */
    private readonly positionBytes: Uint8Array | null,
    /** The point's fragment within `positionBytes`, or latitude and longitude in millionths of a degree. */
    private readonly positionFrom: number,
    private readonly positionTo: number,
    private readonly speedTenths: number,
    private readonly occupancy: number,
    district: string,
    surge: boolean,
    kind: 'valid' | 'duplicate' = 'valid',
  ) {
    super(vehicle, ts, kind, district, { speedTenths }, surge);
  }

  encodeInto(target: Uint8Array, at: number): number {
    at = copy(target, at, this.idPrefix);
    at = writeUint(target, at, this.idNumber);
    at = copy(target, at, TS);
    at = writeUint(target, at, this.ts);
    at = copy(target, at, COMMA);
    at = copy(target, at, this.vehicleBytes);
    at = copy(target, at, COMMA);
    if (this.positionBytes !== null) {
      at = copy(target, at, this.positionBytes, this.positionFrom, this.positionTo);
    } else {
      at = copy(target, at, LAT);
      at = writeDecimal(target, at, this.positionFrom, 6, 1e6);
      at = copy(target, at, LON);
      at = writeDecimal(target, at, this.positionTo, 6, 1e6);
    }
    at = copy(target, at, SPEED);
    at = writeDecimal(target, at, this.speedTenths, 1, 10);
    at = copy(target, at, OCCUPANCY);
    at = writeUint(target, at, this.occupancy);
    return copy(target, at, CLOSE);
  }

  resent(): SimulatedMessage {
    return new TransportRecord(
      this.idPrefix,
      this.idNumber,
      this.ts,
      this.vehicleBytes,
      this.key,
      this.positionBytes,
      this.positionFrom,
      this.positionTo,
      this.speedTenths,
      this.occupancy,
      this.district,
      this.surge,
      'duplicate',
    );
  }
}

/** A valid `city.population` record. */
export class PopulationRecord extends AsciiRecord {
  readonly stream = 'population' as const;

  constructor(
    /** `{"id":"p-<tag>-`, encoded. */
    private readonly idPrefix: Uint8Array,
    private readonly idNumber: number,
    ts: number,
    cell: string,
    /** `"h3":"…","lat":…,"lon":…` of the cell, encoded. */
    private readonly cellBytes: Uint8Array,
    private readonly present: number,
    private readonly inflow: number,
    private readonly outflow: number,
    district: string,
    kind: 'valid' | 'duplicate' = 'valid',
  ) {
    super(cell, ts, kind, district, { present, inflow, outflow }, false);
  }

  encodeInto(target: Uint8Array, at: number): number {
    at = copy(target, at, this.idPrefix);
    at = writeUint(target, at, this.idNumber);
    at = copy(target, at, TS);
    at = writeUint(target, at, this.ts);
    at = copy(target, at, COMMA);
    at = copy(target, at, this.cellBytes);
    at = copy(target, at, PRESENT);
    at = writeUint(target, at, this.present);
    at = copy(target, at, INFLOW);
    at = writeUint(target, at, this.inflow);
    at = copy(target, at, OUTFLOW);
    at = writeUint(target, at, this.outflow);
    return copy(target, at, CLOSE);
  }

  resent(): SimulatedMessage {
    return new PopulationRecord(
      this.idPrefix,
      this.idNumber,
      this.ts,
      this.key,
      this.cellBytes,
      this.present,
      this.inflow,
      this.outflow,
      this.district,
      'duplicate',
    );
  }
}

/** True for records that can write themselves as bytes (`encodeInto`). */
export function isAsciiRecord(message: SimulatedMessage): message is TransportRecord | PopulationRecord {
  return message instanceof AsciiRecord;
}
