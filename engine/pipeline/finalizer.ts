import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { Piscina } from 'piscina';
import type { Environment } from '../config/environment.ts';
import { type ClickHouseClient, selectRows } from '../connectors/clickhouse/client.ts';
import { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { sqlNumber, sqlString, sqlStringList } from '../connectors/clickhouse/sqlLiteral.ts';
import { incidentBaseImpact, incidentBaseImpactExact } from '../connectors/clickhouse/tables/base.ts';
import { incidentImpact } from '../connectors/clickhouse/tables/joined.ts';
import { columnNames, qualified } from '../connectors/clickhouse/tables/table.ts';
import { createKafka } from '../connectors/kafka/client.ts';
import type { KafkaSink } from '../connectors/kafka/sink.ts';
import type { DistrictPulseMessage, IncidentImpactMessage } from '../contract/aggregates.ts';
import { internalTopic, STREAM_NAMES, streamTopic } from '../contract/topics.ts';
import type { Logger } from '../observability/logger.ts';
import type { EngineOptions } from './engineOptions.ts';
import {
  firstOpenings,
  type ImpactJoinOptions,
  type IncidentOpening,
  OPENING_COLUMNS,
} from './incidentImpact.ts';
import type {
  BaseRecheckTask,
  BaseRows,
  BaseRowsAgain,
  ImpactJoinTask,
  JoinedChunk,
} from './incidentImpactWorker.ts';
import { pulseStatements, snapshotQuery } from './pulseInsert.ts';

/** At most this many minutes of district_pulse are computed per statement. */
const PULSE_CHUNK_MINUTES = 120;
/**
 * At most this many incidents are joined per round trip, and per tick. The rows read for a chunk are those
 * of its time span plus the band on each side, so larger chunks read fewer rows per incident: on a full
 * day's store, a chunk of 1,000 cost 1.35 s and five chunks of 200 1.99 s (the join as it was then).
 */
const IMPACT_CHUNK = 1_000;
/** Event time of incidents read per query (doubled over stretches without any). */
const IMPACT_SPAN_MS = 15 * 60_000;
/** district_pulse ranges per tick, at most (catching up on a long replay takes several ticks). */
const MAX_PULSE_CHUNKS_PER_TICK = 5;
/** Longest wait for the publication of finalized rows to Kafka (it is best effort). */
const PUBLISH_WAIT_MS = 10_000;
/**
 * Checks of a chunk's base rows against changes written since its join (each joins again what they
 * touched). Each window is one join long, so a second is rare; past this many, the last rows stand.
 */
const BASE_RECHECK_ROUNDS = 3;

/** What one finalizer round did: the final watermark, how far each joined table is written, and how far behind. */
export interface FinalizerTick {
  /** Event time (epoch ms) up to which every window is closed and written; undefined before every partition reported. */
  readonly watermark: number | undefined;
  readonly pulseThrough: number;
  readonly impactThrough: number;
  /** Event time each joined table could be finalized through and is not yet (0 when caught up). */
  readonly behindMs: { readonly district_pulse: number; readonly incident_impact: number } | undefined;
}

/**
 * Writes the integration layer once its inputs are final: `city.district_pulse` (per district and minute,
 * the three streams side by side) and `city.incident_impact` (the interval join of incidents with vehicles,
 * and the stream-table join with the latest population counts).
 *
 * "Final" is decided from `city.engine_progress`: the smallest watermark over every non-empty partition of
 * the three input topics, minus the grace, is the event time up to which every window partial is written.
 * The joined rows are computed from the deduplicated store with deterministic keys, so running the
 * finalizer twice, or in two engine instances at once, writes the same rows.
 */
export class Finalizer {
  readonly #env: Environment;
  readonly #client: ClickHouseClient;
  readonly #writer: ClickHouseSink;
  readonly #sink: KafkaSink;
  readonly #options: EngineOptions;
  readonly #log: Logger;
  readonly #admin: KafkaJS.Admin;
  readonly #impactOptions: ImpactJoinOptions;
  /**
   * The incident_impact join runs in a thread of its own (a pool of one): reading and parsing the positions
   * around the incidents took 7% of the engine's CPU on its main thread (bench:day, 2 M events: engine CPU
   * 50.3 s with the join, 46.8 s without), the thread that consumes and windows and limits the catch-up.
   */
  readonly #joiner: Piscina;
  #adminConnected = false;
  #running = false;
  #closing = false;

  constructor(
    env: Environment,
    client: ClickHouseClient,
    sink: KafkaSink,
    options: EngineOptions,
    log: Logger,
  ) {
    this.#env = env;
    this.#client = client;
    this.#writer = new ClickHouseSink(client);
    this.#sink = sink;
    this.#options = options;
    this.#log = log.child({ component: 'finalizer' });
    this.#admin = createKafka(env, `${options.instanceId}-finalizer`).admin();
    this.#impactOptions = {
      radiusM: options.impactRadiusM,
      bandMs: options.impactBandMs,
      rings: options.impactRings,
      populationMaxAgeMs: options.impactPopulationMaxAgeMs,
    };
    this.#joiner = new Piscina({
      filename: new URL('./incidentImpactWorkerEntry.mjs', import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  /** One round: finalize what became final since the last round. Overlapping calls are skipped. */
  async tick(): Promise<FinalizerTick | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    try {
      const watermark = await this.finalWatermark();
      if (watermark === undefined)
        return { watermark, pulseThrough: 0, impactThrough: 0, behindMs: undefined };
      const pulseThrough = await this.#finalizePulse(watermark);
      const impactThrough = await this.#finalizeImpact(watermark);
      const pulseTarget = Math.floor(watermark / this.#options.windowSizeMs) * this.#options.windowSizeMs;
      const behindMs = {
        district_pulse: Math.max(0, pulseTarget - pulseThrough),
        incident_impact: Math.max(0, watermark - this.#options.impactBandMs - impactThrough),
      };
      return { watermark, pulseThrough, impactThrough, behindMs };
    } finally {
      this.#running = false;
    }
  }

  /** Makes the tick under way stop after its current statement; `close()` afterwards. */
  requestStop(): void {
    this.#closing = true;
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (this.#adminConnected) await this.#admin.disconnect().catch(() => {});
    await this.#joiner.destroy();
  }

  /**
   * Event time (epoch ms) up to which every window of every input partition is closed and written, or
   * undefined while some non-empty partition has not reported progress yet.
   */
  async finalWatermark(): Promise<number | undefined> {
    if (!this.#adminConnected) {
      await this.#admin.connect();
      this.#adminConnected = true;
    }
    // Progress rows are keyed by topic: deployments with other topic prefixes may share the database.
    const topics = STREAM_NAMES.map((stream) => streamTopic(stream, this.#env.CITY_OPS_TOPIC_PREFIX));
    const rows = await this.#select<{ topic: string; source_partition: number; wm: string }>(
      `SELECT topic, source_partition, max(watermark_ms) AS wm FROM ${this.#city}.engine_progress
       WHERE topic IN ${sqlStringList(topics)} GROUP BY topic, source_partition`,
    );
    const progress = new Map(rows.map((r) => [`${r.topic}:${r.source_partition}`, Number(r.wm)]));
    let min = Number.POSITIVE_INFINITY;
    for (const topic of topics) {
      for (const p of await this.#admin.fetchTopicOffsets(topic)) {
        if (Number(p.high) === 0) continue; // nothing was ever written there
        const wm = progress.get(`${topic}:${p.partition}`);
        if (wm === undefined || wm === 0) return undefined;
        min = Math.min(min, wm);
      }
    }
    return Number.isFinite(min) ? min - this.#options.graceMs : undefined;
  }

  get #city(): string {
    return this.#env.CLICKHOUSE_DATABASE;
  }

  get #restricted(): string {
    return this.#env.CLICKHOUSE_RESTRICTED_DATABASE;
  }

  #select<T>(query: string): Promise<T[]> {
    return selectRows<T>(this.#client, query);
  }

  /** Finalizer progress is kept per topic prefix, like `engine_progress`. */
  #what(what: 'pulse' | 'impact'): string {
    return `${what}:${this.#env.CITY_OPS_TOPIC_PREFIX}`;
  }

  async #progress(what: 'pulse' | 'impact'): Promise<number | undefined> {
    const rows = await this.#select<{ through: string }>(
      `SELECT max(finalized_through_ms) AS through FROM ${this.#city}.finalizer_progress WHERE what = ${sqlString(this.#what(what))}`,
    );
    const through = Number(rows[0]?.through ?? 0);
    return through > 0 ? through : undefined;
  }

  async #setProgress(what: 'pulse' | 'impact', through: number): Promise<void> {
    await this.#client.command({
      query: `INSERT INTO ${this.#city}.finalizer_progress VALUES (${sqlString(this.#what(what))}, ${sqlNumber(through)}, now())`,
    });
  }

  /**
   * Finalizes the minutes that end by `watermark`, a bounded number per tick; returns the end of the last
   * finalized minute (the target itself when there is nothing to finalize yet).
   */
  async #finalizePulse(watermark: number): Promise<number> {
    const size = this.#options.windowSizeMs;
    const to = Math.floor(watermark / size) * size;
    let from = await this.#progress('pulse');
    if (from === undefined) {
      const first = await this.#select<{ first: string; n: string }>(
        `SELECT toUInt64(min(window_start)) * 1000 AS first, count() AS n FROM ${this.#city}.window_partials`,
      );
      if (Number(first[0]?.n ?? 0) === 0) return to;
      from = Number(first[0]!.first);
    }
    // A bounded amount of work per tick, so a stop never waits for a whole day of catch-up.
    for (let chunk = 0; from < to && chunk < MAX_PULSE_CHUNKS_PER_TICK && !this.#closing; chunk++) {
      const end = Math.min(to, from + PULSE_CHUNK_MINUTES * size);
      const snapshot = await this.#select<{ n: string }>(snapshotQuery(this.#city, from));
      for (const query of pulseStatements(this.#city, from, end, Number(snapshot[0]?.n ?? 0) > 0)) {
        await this.#client.command({ query });
      }
      const pulses = await this.#select<Record<string, string | number | null>>(
        `SELECT district, toUInt64(window_start) * 1000 AS window_start, vehicles_seen, mean_speed_kmh, incidents_opened,
                incidents_open, people_present, net_inflow
         FROM ${this.#city}.district_pulse FINAL
         WHERE window_start >= toDateTime(${sqlNumber(from / 1000)}) AND window_start < toDateTime(${sqlNumber(end / 1000)})`,
      );
      await this.#publish(
        pulses.map(
          (p): DistrictPulseMessage => ({
            kind: 'district_pulse',
            district: String(p['district']),
            window_start: Number(p['window_start']),
            vehicles_seen: Number(p['vehicles_seen']),
            mean_speed_kmh: p['mean_speed_kmh'] === null ? null : Number(p['mean_speed_kmh']),
            incidents_opened: Number(p['incidents_opened']),
            incidents_open: Number(p['incidents_open']),
            people_present: Number(p['people_present']),
            net_inflow: Number(p['net_inflow']),
          }),
        ),
        (m) => `district_pulse:${m.district}:${m.window_start}`,
      );
      await this.#setProgress('pulse', end);
      this.#log.debug(
        { from: new Date(from).toISOString(), to: new Date(end).toISOString() },
        'district_pulse finalized',
      );
      from = end;
    }
    return from;
  }

  /**
   * Finalizes incidents whose time band ends by `watermark`, a bounded number per tick; returns the upper
   * bound of finalized incident times. The incidents are read a span of event time at a time: reading the
   * whole backlog at each tick made a replay's catch-up quadratic (each tick parsed every incident left).
   */
  async #finalizeImpact(watermark: number): Promise<number> {
    const to = watermark - this.#options.impactBandMs;
    const progress = await this.#progress('impact');
    let from = progress ?? (await this.#firstOpening(to));
    if (progress !== undefined && to <= from) return from;
    let span = IMPACT_SPAN_MS;
    let budget = IMPACT_CHUNK;
    while (from < to && budget > 0 && !this.#closing) {
      const end = Math.min(to, from + span);
      const openings = await this.#openings(from, end);
      // A stretch without incidents (a night, or the gap after a replayed day) is crossed in a few reads.
      span = openings.length === 0 ? span * 2 : IMPACT_SPAN_MS;
      let i = 0;
      while (i < openings.length && budget > 0 && !this.#closing) {
        // A chunk ends between two instants, past the budget if it must: resuming at an instant that was
        // partly joined would join its first incidents again, and never get past an instant with more
        // incidents than the budget.
        let stop = Math.min(openings.length, i + budget);
        while (stop < openings.length && openings[stop]!.ts_ms === openings[stop - 1]!.ts_ms) stop++;
        await this.#joinChunk(openings.slice(i, stop));
        budget -= stop - i;
        i = stop;
      }
      // Resume at the first incident not joined yet: every incident before its instant is joined.
      from = i < openings.length ? openings[i]!.ts_ms : end;
    }
    if (progress === undefined || from > progress) await this.#setProgress('impact', from);
    return from;
  }

  /** Time of the first open report before `to`, or `to` when there is none. */
  async #firstOpening(to: number): Promise<number> {
    const rows = await this.#select<{ first: string; n: string }>(
      `SELECT min(ts_ms) AS first, count() AS n FROM ${this.#city}.events_atomic
       WHERE status = 'open' AND ts_ms < ${sqlNumber(to)}`,
    );
    return Number(rows[0]?.n ?? 0) > 0 ? Number(rows[0]!.first) : to;
  }

  /** First open report of each incident whose first open report lies in [from, to). */
  async #openings(from: number, to: number): Promise<IncidentOpening[]> {
    const rows = await this.#select<Record<string, string | number>>(
      `SELECT ${OPENING_COLUMNS}
       FROM ${this.#city}.events_atomic FINAL
       WHERE status = 'open' AND incident_id IN (
         SELECT incident_id FROM ${this.#city}.events_atomic
         WHERE status = 'open' AND ts >= toDateTime(${sqlNumber(Math.floor(from / 1000))})
           AND ts < toDateTime(${sqlNumber(Math.ceil(to / 1000) + 1)})
           AND ts_ms >= ${sqlNumber(from)} AND ts_ms < ${sqlNumber(to)}
       )`,
    );
    // The incidents with an open report in [from, to), with all their open reports (the inner query reads
    // only the days of that range; the outer one, by incident_id, the granules of those incidents): an
    // incident opened in [from, to) is one whose earliest open report lies there.
    return firstOpenings(rows)
      .filter((x) => x.ts_ms >= from && x.ts_ms < to)
      .sort((a, b) => a.ts_ms - b.ts_ms);
  }

  async #joinChunk(openings: IncidentOpening[]): Promise<void> {
    if (openings.length === 0) return;
    const task = {
      env: this.#env,
      city: this.#city,
      restricted: this.#restricted,
      openings,
      options: this.#impactOptions,
    } satisfies ImpactJoinTask;
    const { tsv, messages, base }: JoinedChunk = await this.#joiner.run(task);
    await this.#writer.insertTsv(`${this.#city}.${incidentImpact.name}`, columnNames(incidentImpact), [tsv]);
    /** The figures of incidents joined again, for their messages. */
    const figures = new Map<string, IncidentImpactMessage['base']>();
    let rows: BaseRows | undefined = base;
    // A feed applier that wrote a change after the join read the libraries, but looked for incidents to
    // join again before these rows landed, did not join them again: so they are checked here (docs/base.md).
    for (let round = 0; rows !== undefined && round < BASE_RECHECK_ROUNDS; round++) {
      await this.#writeBaseRows(rows);
      const previous = { computedAt: rows.computedAt, generation: rows.generation };
      const again: BaseRowsAgain | undefined = await this.#joiner.run(
        { ...task, previous } satisfies BaseRecheckTask,
        { name: 'recheckBaseImpacts' },
      );
      for (const [id, figure] of again?.figures ?? []) figures.set(id, figure);
      rows = again;
    }
    if (rows !== undefined) {
      await this.#writeBaseRows(rows);
      this.#log.warn({ chunk: openings.length }, 'base libraries kept changing around incidents just joined');
    }
    const updated = messages.map((m) =>
      figures.has(m.incident_id) ? { ...m, base: figures.get(m.incident_id) } : m,
    );
    await this.#publish(updated, (m) => `incident_impact:${m.incident_id}`);
  }

  async #writeBaseRows(rows: BaseRows): Promise<void> {
    const db = { city: this.#city, restricted: this.#restricted };
    for (const [table, tsv] of [
      [incidentBaseImpact, rows.publicTsv],
      [incidentBaseImpactExact, rows.exactTsv],
    ] as const)
      await this.#writer.insertTsv(qualified(table, db), columnNames(table), [tsv]);
  }

  /**
   * Publishes finalized rows for the map and the alert rules: best effort (ClickHouse has them), and waited
   * for at most PUBLISH_WAIT_MS, so that a broker restart (a send may wait minutes for a new leader) does not
   * hold back the next rounds; the send goes on in the background.
   */
  async #publish<T>(messages: T[], key: (m: T) => string): Promise<void> {
    if (messages.length === 0) return;
    const sent = this.#sink
      .send(
        internalTopic('aggregates', this.#env.CITY_OPS_TOPIC_PREFIX),
        messages.map((m) => ({ key: key(m), value: JSON.stringify(m) })),
      )
      .catch((error: unknown) => this.#log.warn({ err: error }, 'publishing finalized rows failed'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      sent,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, PUBLISH_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
}
