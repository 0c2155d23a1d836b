import { availableParallelism, hostname } from 'node:os';
import { z } from 'zod';
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_EVENT_AGE_MS } from '../contract/decodeRecord.ts';
import { CityOpsError } from '../errors.ts';

/**
 * Options of `city-ops run` (and of `StreamEngine`), validated once into a frozen, fully-filled object.
 * Every field has a CLI flag of the same name in kebab case (e.g. `--grace-ms`).
 */
export const EngineOptionsSchema = z.object({
  /** Kafka consumer group; engine instances with the same group share the partitions. */
  groupId: z.string().min(1).default('city-ops-engine'),
  /**
   * Name of this instance in logs and in `city.engine_progress`, and its static group membership id: give
   * each instance a stable id (e.g. a pod name) so a restart takes its partitions back at once.
   */
  instanceId: z.string().min(1).default(`${hostname()}-${process.pid}`),
  /** Worker threads decoding, validating and enriching batches (default: one per core). */
  workers: z.number().int().min(1).max(64).default(Math.max(1, availableParallelism())),
  /** Largest batch handed to a worker, messages. */
  batchSize: z.number().int().min(1).max(100_000).default(2_000),
  /** Messages fetched per poll. */
  maxPollRecords: z.number().int().min(1).max(1_000_000).default(50_000),
  /** When a poll brings fewer than `batchSize` messages, keep polling this long for more, ms. */
  pollLingerMs: z.number().int().min(0).max(1_000).default(25),
  /** Messages handed to the workers and not yet applied, at most (backpressure). */
  maxInflightMessages: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Rows waiting to be written, in bytes of insert text, at most (backpressure during a ClickHouse outage). */
  maxBufferedBytes: z
    .number()
    .int()
    .min(1_000_000)
    .default(256 * 1024 * 1024),
  /**
   * How often buffered rows are written and offsets committed, ms. A record waits up to this long before
   * its insert starts, so it bounds the event-to-ClickHouse latency: 400 ms keeps the p99 near 0.5 s at 10x
   * the day's mean rate, where 1 s gave 1.1 s (docs/benchmarks.md), with the same end-to-end time.
   */
  flushIntervalMs: z.number().int().min(50).max(60_000).default(400),
  /** Length of the district windows, ms. */
  windowSizeMs: z.number().int().min(1_000).default(60_000),
  /** A window still accepts records until the watermark is this far past its end, ms. */
  graceMs: z.number().int().min(0).default(5_000),
  /** Bounded out-of-orderness: the watermark trails the largest event time by this much, ms. */
  outOfOrdernessMs: z.number().int().min(0).default(5_000),
  /**
   * An event time may run this far ahead of the exchange's clock (the broker's append time, never later
   * than the engine's), ms; further, the record is a dead letter `clock_skew`. It also bounds how far one
   * record can move a partition's watermark ahead.
   */
  clockSkewMs: z.number().int().min(0).max(3_600_000).default(DEFAULT_CLOCK_SKEW_MS),
  /** An event time older than this (against the same clock) is a dead letter `too_old`, ms (default 90 days). */
  maxEventAgeMs: z.number().int().min(60_000).max(DEFAULT_MAX_EVENT_AGE_MS).default(DEFAULT_MAX_EVENT_AGE_MS),
  /** A caught-up partition silent this long (wall clock, ms) has its watermark advanced (see docs). */
  idleTimeoutMs: z.number().int().min(100).default(10_000),
  /**
   * Messages the Kafka consumer fetches ahead of the engine, at most, in kB (librdkafka's
   * `queued.max.messages.kbytes`, for all partitions together). While it is full nothing is fetched.
   */
  fetchQueueKbytes: z.number().int().min(64).max(2_097_151).default(65_536),
  /**
   * Live updates for the map (window revisions, vehicle positions, people counts) are published only for
   * event times within this much of the wall clock, ms: a replay of yesterday floods no one. Final windows,
   * incidents and the joined rows are always published.
   */
  liveHorizonMs: z
    .number()
    .int()
    .min(0)
    .default(15 * 60_000),
  /**
   * A consumer that lost its group assignment (librdkafka flags the revocation as lost, e.g. after the
   * session expired while the broker was away or the process was frozen) and has been assigned nothing for
   * this long is replaced by a new one, ms.
   */
  lostAssignmentLimitMs: z.number().int().min(0).default(30_000),
  /** Port of /metrics and /health on 127.0.0.1 (0: any free port; -1: none). */
  metricsPort: z.number().int().min(-1).max(65_535).default(9464),
  /** Run the finalizer (joined tables: district_pulse, incident_impact) in this instance. */
  finalizer: z.boolean().default(true),
  /** How often the finalizer looks for minutes and incidents to finalize, ms. */
  finalizeIntervalMs: z.number().int().min(100).default(2_000),
  /** incident_impact: vehicles within this distance of an incident, metres. */
  impactRadiusM: z.number().positive().max(10_000).default(500),
  /** incident_impact: and within this time of it (before or after), ms. */
  impactBandMs: z.number().int().positive().max(3_600_000).default(120_000),
  /** incident_impact: people present in the incident's cell and this many H3 rings around it (res 8). */
  impactRings: z.number().int().min(0).max(5).default(1),
  /** incident_impact: how old a population report may be and still count as "present at that time", ms. */
  impactPopulationMaxAgeMs: z
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
});

export type EngineOptions = Readonly<z.infer<typeof EngineOptionsSchema>>;

/** Validates engine options; messages name the field, e.g. `options.graceMs: must be >= 0`. */
export function resolveEngineOptions(
  input: Partial<Record<keyof EngineOptions, unknown>> = {},
): EngineOptions {
  const parsed = EngineOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`);
    throw new CityOpsError('CONFIG_INVALID', problems.join('; '), {
      hint: 'see `city-ops run --help` for the options and their ranges',
    });
  }
  return Object.freeze(parsed.data);
}
