import { writeFile } from 'node:fs/promises';
import { EMPTY_WINDOW_MEASURES } from '../contract/aggregates.ts';
import { DEAD_LETTER_REASONS, type DeadLetterReason } from '../contract/decodeRecord.ts';
import { STREAM_NAMES, type StreamName } from '../contract/topics.ts';
import type { SimulatedMessage } from './simulateCity.ts';
import { formatShanghaiTime, type SimulationOptions } from './simulationOptions.ts';

/** Version tag of the truth file format (docs/simulator.md). */
export const TRUTH_FORMAT = 'city-ops.simulation-truth/1';

/**
 * What the engine must find for one stream, district and minute of event time: the fields of the
 * `district_window` aggregate (engine/contract/aggregates.ts), summed over partitions.
 */
export interface TruthWindow {
  stream: StreamName;
  /** District code, or 'outside'. */
  district: string;
  /** Start of the UTC minute, epoch ms; the window is [window_start, window_start + 60 000). */
  window_start: number;
  /** Accepted events: valid records, each id once (duplicates not counted again). */
  events: number;
  /** transport: distinct vehicles; events: distinct incidents; population: distinct cells. */
  distinct_keys: number;
  /** transport: sum (km/h, exact to 0.1) and count of reported speeds. */
  speed_sum: number;
  speed_count: number;
  /** events: reports with status open / closed, and with severity >= 4. */
  opened: number;
  closed: number;
  severe: number;
  /** population: sum over cells of the latest report's `present` in the minute; sums of flows. */
  present: number;
  inflow: number;
  outflow: number;
}

/** The truth file: what a simulation published, and what the engine must make of it. */
export interface SimulationTruthFile {
  format: typeof TRUTH_FORMAT;
  options: {
    seed: number;
    start: string;
    end: string | null;
    events: number | null;
    live: boolean;
    bad_ratio: number;
    duplicate_ratio: number;
    outside_ratio: number;
    max_delay_ms: number;
    surges: Array<{ district: string; start: string; minutes: number; factor: number }>;
  };
  /** Event time of the first and last published record (epoch ms), null if none. */
  event_time: { first: number | null; last: number | null };
  totals: {
    /** Every message published. */
    messages: number;
    /** Valid records, counted once: what `city.district_minute` must sum to. */
    accepted: number;
    duplicates: number;
    invalid: number;
    /** Of `accepted`, the extra records of injected surges. */
    surge: number;
  };
  by_stream: Record<StreamName, { messages: number; accepted: number; duplicates: number; invalid: number }>;
  /** Dead letters the engine must produce, per stream and reason (every reason listed, zeros included). */
  dead_letters: Record<StreamName, Record<DeadLetterReason, number>>;
  /** One row per stream, district and minute with at least one accepted event; sorted by minute, stream, district. */
  windows: TruthWindow[];
}

interface OpenWindow {
  row: TruthWindow;
  keys: Set<string>;
  speedTenths: number;
  /** population: latest report per cell in the minute: cell -> [ts, present]. */
  latest: Map<string, [number, number]>;
}

const MINUTE = 60_000;

/**
 * Accumulates the truth of a simulation from the messages as they are published: per stream, district and
 * minute of event time, the accepted events and the figures the engine aggregates; dead letters per reason;
 * duplicates. Minutes older than the bounded disorder allows are closed as it goes, so a full day stays
 * small in memory.
 *
 * @example
 * const truth = new SimulationTruth(simulation.options);
 * for (const message of simulation) { publish(message); truth.add(message); }
 * await truth.write('truth.json');
 */
export class SimulationTruth {
  readonly #options: SimulationOptions;
  readonly #open = new Map<number, Map<string, OpenWindow>>();
  readonly #closed: TruthWindow[] = [];
  readonly #byStream = {} as SimulationTruthFile['by_stream'];
  readonly #deadLetters = {} as SimulationTruthFile['dead_letters'];
  #messages = 0;
  #accepted = 0;
  #duplicates = 0;
  #invalid = 0;
  #surge = 0;
  #first: number | null = null;
  #last: number | null = null;
  #newest = Number.NEGATIVE_INFINITY;
  #oldestOpen = Number.POSITIVE_INFINITY;

  constructor(options: SimulationOptions) {
    this.#options = options;
    for (const stream of STREAM_NAMES) {
      this.#byStream[stream] = { messages: 0, accepted: 0, duplicates: 0, invalid: 0 };
      this.#deadLetters[stream] = Object.fromEntries(DEAD_LETTER_REASONS.map((r) => [r, 0])) as Record<
        DeadLetterReason,
        number
      >;
    }
  }

  /** Counts one published message. */
  add(message: SimulatedMessage): void {
    this.#messages++;
    const stream = this.#byStream[message.stream];
    stream.messages++;
    if (this.#first === null || message.ts < this.#first) this.#first = message.ts;
    if (this.#last === null || message.ts > this.#last) this.#last = message.ts;
    if (message.kind === 'invalid') {
      this.#invalid++;
      stream.invalid++;
      this.#deadLetters[message.stream][message.deadLetterReason!]++;
      return;
    }
    if (message.kind === 'duplicate') {
      this.#duplicates++;
      stream.duplicates++;
      return;
    }
    this.#accepted++;
    stream.accepted++;
    if (message.surge) this.#surge++;
    this.#window(message);
    if (message.ts > this.#newest) {
      this.#newest = message.ts;
      // Nothing published later is older than newest - maxDelay: minutes that ended before that are final.
      const closeBefore = message.ts - this.#options.maxDelayMs - MINUTE;
      if (this.#oldestOpen < closeBefore) this.#closeBefore(closeBefore);
    }
  }

  #window(message: SimulatedMessage): void {
    const minute = Math.floor(message.ts / MINUTE) * MINUTE;
    let windows = this.#open.get(minute);
    if (windows === undefined) {
      windows = new Map();
      this.#open.set(minute, windows);
      if (minute < this.#oldestOpen) this.#oldestOpen = minute;
    }
    const id = `${message.stream}|${message.district}`;
    let window = windows.get(id);
    if (window === undefined) {
      window = {
        row: {
          stream: message.stream,
          district: message.district,
          window_start: minute,
          ...EMPTY_WINDOW_MEASURES,
        },
        keys: new Set(),
        speedTenths: 0,
        latest: new Map(),
      };
      windows.set(id, window);
    }
    const row = window.row;
    const facts = message.facts!;
    row.events++;
    window.keys.add(message.key);
    if (message.stream === 'transport') {
      if (facts.speedTenths !== undefined) {
        window.speedTenths += facts.speedTenths;
        row.speed_count++;
      }
    } else if (message.stream === 'events') {
      if (facts.status === 'open') row.opened++;
      else row.closed++;
      if (facts.severity! >= 4) row.severe++;
    } else {
      row.inflow += facts.inflow!;
      row.outflow += facts.outflow!;
      const latest = window.latest.get(message.key);
      // The latest report by event time; on a tie, the one published later.
      if (latest === undefined || message.ts >= latest[0])
        window.latest.set(message.key, [message.ts, facts.present!]);
    }
  }

  #closeBefore(limit: number): void {
    const minutes = [...this.#open.keys()].filter((m) => m < limit);
    for (const minute of minutes) {
      for (const window of this.#open.get(minute)!.values()) this.#closed.push(finish(window));
      this.#open.delete(minute);
    }
    this.#oldestOpen = this.#open.size === 0 ? Number.POSITIVE_INFINITY : Math.min(...this.#open.keys());
  }

  /** Accepted events so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** The truth so far as the file's JSON object (windows sorted; open minutes included as they stand). */
  toJSON(): SimulationTruthFile {
    const windows = [...this.#closed];
    for (const open of this.#open.values())
      for (const window of open.values()) windows.push(finish(window, false));
    const streamOrder = (s: StreamName) => STREAM_NAMES.indexOf(s);
    windows.sort(
      (a, b) =>
        a.window_start - b.window_start ||
        streamOrder(a.stream) - streamOrder(b.stream) ||
        (a.district < b.district ? -1 : a.district > b.district ? 1 : 0),
    );
    const o = this.#options;
    return {
      format: TRUTH_FORMAT,
      options: {
        seed: o.seed,
        start: formatShanghaiTime(o.start),
        end: Number.isFinite(o.end) ? formatShanghaiTime(o.end) : null,
        events: Number.isFinite(o.events) ? o.events : null,
        live: o.live,
        bad_ratio: o.badRatio,
        duplicate_ratio: o.duplicateRatio,
        outside_ratio: o.outsideRatio,
        max_delay_ms: o.maxDelayMs,
        surges: o.surges.map((s) => ({
          district: s.district,
          start: formatShanghaiTime(s.start),
          minutes: s.minutes,
          factor: s.factor,
        })),
      },
      event_time: { first: this.#first, last: this.#last },
      totals: {
        messages: this.#messages,
        accepted: this.#accepted,
        duplicates: this.#duplicates,
        invalid: this.#invalid,
        surge: this.#surge,
      },
      by_stream: structuredClone(this.#byStream),
      dead_letters: structuredClone(this.#deadLetters),
      windows,
    };
  }

  /** Writes the truth file: readable JSON, one window per line. */
  async write(path: string): Promise<void> {
    await writeFile(path, formatTruth(this.toJSON()));
  }
}

/** The truth file's text: the header pretty-printed, then one window per line (diffable, greppable). */
export function formatTruth(truth: SimulationTruthFile): string {
  const { windows, ...header } = truth;
  const head = JSON.stringify(header, null, 2);
  const rows = windows.map((w) => `    ${JSON.stringify(w)}`).join(',\n');
  return `${head.slice(0, -2)},\n  "windows": [\n${rows}${rows ? '\n' : ''}  ]\n}\n`;
}

function finish(window: OpenWindow, release = true): TruthWindow {
  const row = { ...window.row };
  row.distinct_keys = window.keys.size;
  row.speed_sum = window.speedTenths / 10;
  let present = 0;
  for (const [, value] of window.latest.values()) present += value;
  row.present = present;
  if (release) {
    window.keys.clear();
    window.latest.clear();
  }
  return row;
}
