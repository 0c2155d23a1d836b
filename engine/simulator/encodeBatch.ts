import type { StreamName } from '../contract/topics.ts';
import { ASCII_RECORD_MAX_BYTES, isAsciiRecord } from './asciiRecords.ts';
import type { CitySimulation, SimulatedMessage } from './simulateCity.ts';

/** Stream of each message in a batch, by number. */
export const BATCH_STREAMS: readonly StreamName[] = ['transport', 'events', 'population'];
const STREAM_NUMBER: Readonly<Record<StreamName, number>> = { transport: 0, events: 1, population: 2 };

/** Index entries per message: stream, key start, key end, value start, value end (value start -1: null). */
export const INDEX_STRIDE = 5;

/**
 * Messages encoded for the producer: keys and values as UTF-8 bytes in one buffer, so that a batch moves
 * between threads without copying (its buffers are transferred) and the producer passes views of it.
 */
export interface EncodedBatch {
  readonly id: number;
  readonly count: number;
  readonly bytes: ArrayBuffer;
  /** INDEX_STRIDE numbers per message, see INDEX_STRIDE. */
  readonly index: Int32Array;
  /** Event time of each message, epoch ms. */
  readonly ts: Float64Array;
}

/** Limits of one batch: messages and bytes (a single larger message still gets a batch of its own). */
export interface BatchLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/**
 * Cuts a simulation into encoded batches, in publication order.
 *
 * @example
 * const encoder = new BatchEncoder(simulateCity(options), { maxMessages: 8192, maxBytes: 2 ** 21 });
 * for (let next = encoder.next(); next !== null; next = encoder.next()) send(next.batch);
 */
export class BatchEncoder {
  readonly #simulation: CitySimulation;
  readonly #limits: BatchLimits;
  #pending: SimulatedMessage | undefined;
  #nextId = 0;

  constructor(simulation: CitySimulation, limits: BatchLimits) {
    this.#simulation = simulation;
    this.#limits = limits;
  }

  /** The next batch and the messages in it (for the truth), or null when the simulation is over. */
  next(): { batch: EncodedBatch; messages: SimulatedMessage[] } | null {
    const limits = this.#limits;
    const messages: SimulatedMessage[] = [];
    let bytes = new ArrayBuffer(limits.maxBytes);
    let view = Buffer.from(bytes);
    const index = new Int32Array(limits.maxMessages * INDEX_STRIDE);
    const ts = new Float64Array(limits.maxMessages);
    let offset = 0;
    while (messages.length < limits.maxMessages) {
      const message = this.#pending ?? this.#simulation.nextMessage();
      this.#pending = undefined;
      if (message === undefined) break;
      const direct = isAsciiRecord(message);
      // UTF-8 takes at most 3 bytes per UTF-16 code unit: check room before writing, write without checking.
      const room = 3 * message.key.length + (direct ? ASCII_RECORD_MAX_BYTES : 3 * message.value.length);
      if (offset + room > view.length) {
        if (messages.length > 0) {
          this.#pending = message;
          break;
        }
        bytes = new ArrayBuffer(room);
        view = Buffer.from(bytes);
      }
      const i = messages.length * INDEX_STRIDE;
      index[i] = STREAM_NUMBER[message.stream];
      index[i + 1] = offset;
      offset += view.write(message.key, offset);
      index[i + 2] = offset;
      if (direct) {
        index[i + 3] = offset;
        offset = message.encodeInto(view, offset);
        index[i + 4] = offset;
      } else if (message.value.length === 0) {
        // An empty record is sent with no value at all (a null value, as a faulty sender would).
        index[i + 3] = -1;
        index[i + 4] = -1;
      } else {
        index[i + 3] = offset;
        offset += view.write(message.value, offset);
        index[i + 4] = offset;
      }
      ts[messages.length] = message.ts;
      messages.push(message);
    }
    if (messages.length === 0) return null;
    return { batch: { id: this.#nextId++, count: messages.length, bytes, index, ts }, messages };
  }
}
