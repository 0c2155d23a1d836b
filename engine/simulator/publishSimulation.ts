import { setTimeout as sleep } from 'node:timers/promises';
import KafkaJavascript from '@confluentinc/kafka-javascript';
import { type Environment, kafkaBrokers } from '../config/environment.ts';
import { librdkafkaAuth } from '../connectors/kafka/client.ts';
import { type StreamName, streamTopic } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { BATCH_STREAMS, INDEX_STRIDE } from './encodeBatch.ts';
import type { SimulationTruth, SimulationTruthFile } from './SimulationTruth.ts';
import type { CitySimulation, SimulationStats } from './simulateCity.ts';
import { type BatchSourceResult, openBatchSource } from './simulationBatches.ts';
import {
  resolveSimulationOptions,
  type SimulationOptions,
  type SimulationOptionsInput,
} from './simulationOptions.ts';

/** librdkafka's "queue full" error code: the producer's local queue is at its limit. */
const ERR_QUEUE_FULL = -184;

/** Where a publication stands, for progress lines. */
export interface PublishProgress {
  /** Messages handed to the producer. */
  readonly sent: number;
  /** Seconds since the first message (wall clock). */
  readonly seconds: number;
  /** Messages per wall-clock second over the last interval. */
  readonly rate: number;
  /** Event time of the last message handed over, epoch ms. */
  readonly eventTime: number;
  /** Share of the run done, 0..1, when the run has a known end; else null. */
  readonly done: number | null;
}

/** How a publication ended. */
export interface PublishReport {
  /** Messages handed to Kafka (and acknowledged by it, unless `deliveryFailures` > 0). */
  readonly sent: number;
  readonly byStream: Readonly<Record<StreamName, number>>;
  /** Seconds from the first message to the end of the final flush. */
  readonly seconds: number;
  /** sent / seconds, including the final flush. */
  readonly rate: number;
  /** Seconds spent starting the generator (loading the city model) before the first message. */
  readonly startupSeconds: number;
  /** Messages Kafka did not accept after librdkafka's retries: non-zero means the run failed. */
  readonly deliveryFailures: number;
  /** True when stopped by the signal (SIGINT) before the simulation's end. */
  readonly interrupted: boolean;
  /** Event time of the last message published, epoch ms (the start when none was). */
  readonly eventTime: number;
  /** What was published: valid records, resends, broken records, surge extras. */
  readonly stats: SimulationStats;
  /** The truth of what was published, when asked for (`truth: true`). */
  readonly truth: SimulationTruthFile | null;
}

export interface PublishOptions {
  readonly env: Environment;
  /** Prefix of the topic names (default `env.CITY_OPS_TOPIC_PREFIX`). */
  readonly topicPrefix?: string;
  /**
   * Keep the truth of what is published and return it in the report; or a `SimulationTruth` to add the
   * published messages to (then the simulation runs in this thread).
   */
  readonly truth?: boolean | SimulationTruth;
  /** Generate in a worker thread, in parallel with the producer (default true). */
  readonly worker?: boolean;
  /** Generate and count only, publish nothing (speed tests of the generator). */
  readonly dryRun?: boolean;
  /** Stops publication (SIGINT): what was handed over is flushed, the report says `interrupted`. */
  readonly signal?: AbortSignal;
  /** Called every `progressIntervalMs` (default 5000). */
  readonly onProgress?: (progress: PublishProgress) => void;
  readonly progressIntervalMs?: number;
  readonly logger?: Logger;
  /** librdkafka settings that override the tuned defaults (tests: a tiny queue to exercise backpressure). */
  readonly producerConfig?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The librdkafka producer settings of the simulator. Replay favours throughput (30 ms linger, batches of up
 * to 10 000 messages, lz4); live favours latency (5 ms linger). Both are idempotent with acks=all, so a
 * retried batch is never written twice, and use Java's murmur2 partitioner (the KafkaJS-compatible
 * client's too), so a key lands in the same partition whoever sends it.
 */
export function simulatorProducerConfig(
  env: Environment,
  live: boolean,
): Record<string, string | number | boolean> {
  return {
    'bootstrap.servers': kafkaBrokers(env).join(','),
    ...librdkafkaAuth(env),
    'client.id': 'city-ops-simulator',
    partitioner: 'murmur2_random',
    'enable.idempotence': true,
    acks: 'all',
    'compression.type': 'lz4',
    'linger.ms': live ? 5 : 30,
    'batch.num.messages': 10_000,
    'batch.size': 1_000_000,
    'queue.buffering.max.messages': 500_000,
    'queue.buffering.max.kbytes': 512 * 1024,
    'message.timeout.ms': 120_000,
    // Successful deliveries raise no event (one per message would cost more than producing it); failures do.
    dr_cb: true,
    'delivery.report.only.error': true,
  };
}

/**
 * Publishes a simulation to the three stream topics: each message to `streamTopic(stream, prefix)` with its
 * key, as fast as the broker takes them (`rate: 'max'`), at a fixed pace (`rate: n` messages per second),
 * or, live, when the wall clock reaches each message's event time.
 *
 * A worker thread generates and encodes the messages (keys and values as UTF-8 in transferred buffers)
 * while this thread only hands views of them to librdkafka's own producer API, which is about four times
 * as fast as the KafkaJS-compatible `send()` (a promise per message). Backpressure: when the producer's
 * queue is full it waits for deliveries and retries the same message, so nothing is skipped.
 *
 * @param simulation the simulation's options (`simulateCity` is run from them, in the worker), or a running
 *   simulation (then generated in this thread; its `stats` and `eventTime` follow the publication)
 * @throws CityOpsError SERVICE_UNAVAILABLE when the broker cannot be reached; SINK_WRITE_FAILED when
 *   messages are still undelivered two minutes after the last one was sent
 * @returns the report; `deliveryFailures > 0` means some messages were not written
 * @example
 * const report = await publishSimulation({ seed: 1, duration: '1h' }, { env: loadEnvironment(), truth: true });
 */
export async function publishSimulation(
  simulation: SimulationOptions | SimulationOptionsInput | CitySimulation,
  options: PublishOptions,
): Promise<PublishReport> {
  const { env, signal, logger, onProgress } = options;
  const running = isSimulation(simulation) ? simulation : null;
  const resolved =
    running !== null
      ? running.options
      : isResolved(simulation as SimulationOptions)
        ? (simulation as SimulationOptions)
        : resolveSimulationOptions(simulation as SimulationOptionsInput);
  const prefix = options.topicPrefix ?? env.CITY_OPS_TOPIC_PREFIX;
  const topics = BATCH_STREAMS.map((stream) => streamTopic(stream, prefix));
  const { live, rate, start, end, events } = resolved;
  const byStream: Record<StreamName, number> = { transport: 0, events: 0, population: 0 };
  const counts = [0, 0, 0];
  let deliveryFailures = 0;

  const producer = options.dryRun ? null : await connectProducer(options, live, () => deliveryFailures++);
  const source = openBatchSource(running ?? resolved, {
    worker: options.worker ?? true,
    truth: options.truth ?? false,
    // Live batches stay small: they are published as their time comes, and the truth should keep up.
    ...(live ? { limits: { maxMessages: 256, maxBytes: 256 * 1024 } } : {}),
  });
  const opened = performance.now();
  let began = opened;
  const progressEvery = options.progressIntervalMs ?? 5_000;
  let lastProgress = began;
  let lastSent = 0;
  let sent = 0;
  let eventTime = start;
  let interrupted = false;
  let yieldAt = began + 20;
  let result: BatchSourceResult;

  try {
    try {
      let batch = await source.next();
      // The clock starts at the first batch: starting the generator (loading the city) is reported apart.
      began = performance.now();
      lastProgress = began;
      yieldAt = began + 20;
      for (; batch !== null; batch = await source.next()) {
        const view = Buffer.from(batch.bytes);
        const { index, ts, count } = batch;
        let done = 0;
        for (; done < count; done++) {
          if (signal?.aborted) {
            interrupted = true;
            break;
          }
          const i = done * INDEX_STRIDE;
          const stream = index[i]!;
          if (producer !== null) {
            const key = view.subarray(index[i + 1], index[i + 2]);
            const valueStart = index[i + 3]!;
            const value = valueStart < 0 ? null : view.subarray(valueStart, index[i + 4]);
            for (;;) {
              try {
                producer.produce(topics[stream]!, null, value, key);
                break;
              } catch (error) {
                if ((error as { code?: number }).code !== ERR_QUEUE_FULL) throw error;
                // Backpressure: let delivery reports drain the queue, then send the same message again.
                await sleep(5);
              }
            }
          }
          sent++;
          counts[stream]!++;
          eventTime = ts[done]!;
          if (live) {
            const wait = eventTime - Date.now();
            if (wait > 0) await sleep(wait);
          } else if (rate !== 'max') {
            const wait = began + (sent / rate) * 1000 - performance.now();
            if (wait > 2) await sleep(wait);
          }
          // Checked every 1024 messages, or at each message live (where messages are few and far between).
          if (live || (sent & 1023) === 0) {
            const now = performance.now();
            if (now >= yieldAt) {
              // Let timers, delivery reports and signals in now and then.
              await new Promise<void>((resolve) => setImmediate(resolve));
              yieldAt = performance.now() + 20;
            }
            if (onProgress !== undefined && now - lastProgress >= progressEvery) {
              const share = Number.isFinite(end)
                ? (eventTime - start) / (end - start)
                : Number.isFinite(events)
                  ? sent / events
                  : null;
              onProgress({
                sent,
                seconds: (now - began) / 1000,
                rate: ((sent - lastSent) * 1000) / (now - lastProgress),
                eventTime,
                done: share === null ? null : Math.min(1, Math.max(0, share)),
              });
              lastProgress = now;
              lastSent = sent;
            }
          }
        }
        source.ack(batch.id, done);
        if (interrupted) break;
      }
    } finally {
      result = await source.finish();
    }
    if (producer !== null) await flush(producer, logger);
  } finally {
    if (producer !== null) await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  BATCH_STREAMS.forEach((stream, k) => {
    byStream[stream] = counts[k]!;
  });
  const seconds = (performance.now() - began) / 1000;
  return {
    sent,
    byStream,
    seconds,
    rate: seconds > 0 ? sent / seconds : 0,
    startupSeconds: (began - opened) / 1000,
    deliveryFailures,
    interrupted,
    eventTime,
    stats: result.stats,
    truth: result.truth,
  };
}

function isSimulation(input: unknown): input is CitySimulation {
  return typeof (input as CitySimulation).nextMessage === 'function';
}

function isResolved(input: SimulationOptions | SimulationOptionsInput): input is SimulationOptions {
  return (
    typeof (input as SimulationOptions).end === 'number' && Array.isArray((input as SimulationOptions).surges)
  );
}

type Producer = InstanceType<typeof KafkaJavascript.Producer>;

async function connectProducer(
  options: PublishOptions,
  live: boolean,
  onFailure: () => void,
): Promise<Producer> {
  const { env, logger } = options;
  const config = { ...simulatorProducerConfig(env, live), ...options.producerConfig };
  const producer = new KafkaJavascript.Producer(config as never);
  let failuresLogged = 0;
  producer.on('delivery-report', (error, report) => {
    if (!error) return;
    onFailure();
    // The topic and partition say where; the payload is never logged (it may hold personal data).
    if (failuresLogged++ < 10) {
      logger?.error(
        { topic: report?.topic, partition: report?.partition, err: error.message },
        'delivery failed',
      );
    }
  });
  producer.on('event.error', (error) => {
    logger?.warn({ err: error.message, code: error.code }, 'kafka producer error');
  });
  try {
    await new Promise<void>((resolve, reject) =>
      producer.connect({ timeout: 15_000 }, (error) => (error ? reject(error) : resolve())),
    );
  } catch (cause) {
    throw new CityOpsError(
      'SERVICE_UNAVAILABLE',
      `the simulator could not connect to Kafka at ${env.KAFKA_BROKERS}`,
      {
        cause,
        hint: 'is the broker up? `city-ops stack status` tells; set KAFKA_BROKERS for another cluster',
      },
    );
  }
  producer.setPollInterval(live ? 10 : 50);
  return producer;
}

async function flush(producer: Producer, logger: Logger | undefined): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) =>
        producer.flush(10_000, (error) => (error ? reject(error) : resolve())),
      );
      return;
    } catch (cause) {
      if (Date.now() > deadline) {
        throw new CityOpsError(
          'SINK_WRITE_FAILED',
          'messages were still undelivered to Kafka 2 minutes after the last one was sent',
          {
            cause,
            hint: 'check the broker (`city-ops stack status`) and its log; the truth file, if any, counts them as sent',
          },
        );
      }
      logger?.warn({ err: (cause as Error).message }, 'still flushing to Kafka');
    }
  }
}
