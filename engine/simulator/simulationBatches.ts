import { Worker } from 'node:worker_threads';
import { CityOpsError } from '../errors.ts';
import { BatchEncoder, type BatchLimits, type EncodedBatch } from './encodeBatch.ts';
import { SimulationTruth, type SimulationTruthFile } from './SimulationTruth.ts';
import {
  type CitySimulation,
  type SimulatedMessage,
  type SimulationStats,
  simulateCity,
} from './simulateCity.ts';
import type { SimulationOptions } from './simulationOptions.ts';

/** What a finished source knows about the messages that were acknowledged as published. */
export interface BatchSourceResult {
  readonly stats: SimulationStats;
  readonly truth: SimulationTruthFile | null;
}

/**
 * Encoded batches of a simulation, in publication order. Messages count (in the stats and the truth) only
 * once acknowledged as published, so an interrupted run's truth describes exactly what Kafka holds.
 */
export interface BatchSource {
  /** The next batch, or null after the last one. */
  next(): Promise<EncodedBatch | null>;
  /** The first `count` messages of batch `id` were handed to the producer. */
  ack(id: number, count: number): void;
  /** Stops generating; the stats and truth of what was acknowledged. */
  finish(): Promise<BatchSourceResult>;
}

export interface BatchSourceOptions {
  /** Generate and encode in a worker thread, in parallel with the producer (default true). */
  readonly worker?: boolean;
  /** Keep the truth of the acknowledged messages (in this thread: into the given accumulator). */
  readonly truth?: boolean | SimulationTruth;
  readonly limits?: BatchLimits;
  /** Batches the worker may run ahead of the producer. Default 4. */
  readonly ahead?: number;
}

const DEFAULT_LIMITS: BatchLimits = { maxMessages: 8_192, maxBytes: 2 * 1024 * 1024 };

/**
 * Opens a source of encoded batches for the simulation `options`: generated in a worker thread (default),
 * or in this thread (`worker: false`).
 */
export function openBatchSource(
  simulation: SimulationOptions | CitySimulation,
  config: BatchSourceOptions = {},
): BatchSource {
  const limits = config.limits ?? DEFAULT_LIMITS;
  const truth = config.truth ?? false;
  // A running simulation or a truth accumulator of the caller's can only be used in this thread.
  if (isSimulation(simulation) || typeof truth !== 'boolean' || config.worker === false) {
    const running = isSimulation(simulation) ? simulation : simulateCity(simulation);
    return new InThreadSource(running, limits, truth);
  }
  return new WorkerSource(simulation, limits, truth, config.ahead ?? 4);
}

function isSimulation(value: SimulationOptions | CitySimulation): value is CitySimulation {
  return typeof (value as CitySimulation).nextMessage === 'function';
}

/** Holds the messages of batches in flight until they are acknowledged, then counts them. */
export class BatchLedger {
  readonly #held = new Map<number, SimulatedMessage[]>();
  readonly #truth: SimulationTruth | null;
  readonly stats: SimulationStats = {
    messages: 0,
    valid: 0,
    duplicates: 0,
    invalid: 0,
    surge: 0,
    byStream: { transport: 0, events: 0, population: 0 },
  };

  constructor(options: SimulationOptions, truth: boolean | SimulationTruth) {
    this.#truth = typeof truth !== 'boolean' ? truth : truth ? new SimulationTruth(options) : null;
  }

  hold(id: number, messages: SimulatedMessage[]): void {
    this.#held.set(id, messages);
  }

  ack(id: number, count: number): void {
    const messages = this.#held.get(id);
    if (messages === undefined) return;
    this.#held.delete(id);
    const stats = this.stats;
    for (let i = 0; i < count && i < messages.length; i++) {
      const message = messages[i]!;
      stats.messages++;
      stats.byStream[message.stream]++;
      if (message.kind === 'valid') stats.valid++;
      else if (message.kind === 'duplicate') stats.duplicates++;
      else stats.invalid++;
      if (message.surge) stats.surge++;
      this.#truth?.add(message);
    }
  }

  result(): BatchSourceResult {
    return { stats: structuredClone(this.stats), truth: this.#truth?.toJSON() ?? null };
  }
}

class InThreadSource implements BatchSource {
  readonly #encoder: BatchEncoder;
  readonly #ledger: BatchLedger;

  constructor(simulation: CitySimulation, limits: BatchLimits, truth: boolean | SimulationTruth) {
    this.#encoder = new BatchEncoder(simulation, limits);
    this.#ledger = new BatchLedger(simulation.options, truth);
  }

  async next(): Promise<EncodedBatch | null> {
    const next = this.#encoder.next();
    if (next === null) return null;
    this.#ledger.hold(next.batch.id, next.messages);
    return next.batch;
  }

  ack(id: number, count: number): void {
    this.#ledger.ack(id, count);
  }

  async finish(): Promise<BatchSourceResult> {
    return this.#ledger.result();
  }
}

/** Messages between the producer's thread and the generator's worker. */
export type ToWorker = { type: 'ack'; id: number; count: number } | { type: 'finish' };
export type FromWorker =
  | { type: 'batch'; batch: EncodedBatch }
  | { type: 'end' }
  | { type: 'result'; result: BatchSourceResult };

/** What the worker is started with. */
export interface WorkerStart {
  readonly options: SimulationOptions;
  readonly limits: BatchLimits;
  readonly truth: boolean;
  readonly ahead: number;
}

class WorkerSource implements BatchSource {
  readonly #worker: Worker;
  readonly #ready: EncodedBatch[] = [];
  #ended = false;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;
  #result: ((result: BatchSourceResult) => void) | null = null;

  constructor(options: SimulationOptions, limits: BatchLimits, truth: boolean, ahead: number) {
    const start: WorkerStart = { options, limits, truth, ahead };
    this.#worker = new Worker(new URL('./simulationWorkerEntry.mjs', import.meta.url), { workerData: start });
    this.#worker.on('message', (message: FromWorker) => {
      if (message.type === 'batch') this.#ready.push(message.batch);
      else if (message.type === 'end') this.#ended = true;
      else this.#result?.(message.result);
      this.#wake?.();
    });
    this.#worker.on('error', (error) => {
      this.#failure = error;
      this.#wake?.();
    });
    this.#worker.on('exit', (code) => {
      if (!this.#ended && this.#failure === null && this.#result === null) {
        this.#failure = new Error(`the simulator's worker thread exited with code ${code}`);
      }
      this.#wake?.();
    });
  }

  async next(): Promise<EncodedBatch | null> {
    for (;;) {
      const batch = this.#ready.shift();
      if (batch !== undefined) return batch;
      if (this.#failure !== null) {
        throw new CityOpsError(
          'INVARIANT_BROKEN',
          `the simulator's generator failed: ${this.#failure.message}`,
          {
            cause: this.#failure,
          },
        );
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
  }

  ack(id: number, count: number): void {
    this.#worker.postMessage({ type: 'ack', id, count } satisfies ToWorker);
  }

  async finish(): Promise<BatchSourceResult> {
    try {
      if (this.#failure !== null) throw this.#failure;
      return await new Promise<BatchSourceResult>((resolve, reject) => {
        this.#result = resolve;
        this.#worker.once('error', reject);
        this.#worker.postMessage({ type: 'finish' } satisfies ToWorker);
      });
    } finally {
      await this.#worker.terminate();
    }
  }
}
