import { z } from 'zod';
import { CityOpsError } from '../errors.ts';
import { shenzhenDistricts } from '../geo/shenzhenDistricts.ts';
import { SHANGHAI_OFFSET_MS, shanghaiMidnight } from './dailyCurve.ts';

/** The city's scale: exchange transactions a day (the platform's figure). Sets the default volume and rate. */
export const DAILY_EVENTS = 20_000_000;
const DAY_MS = 86_400_000;

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses a span of time: `24h`, `90m`, `30s`, `500ms`, `1h30m`, `2d`, or a bare number of milliseconds.
 *
 * @returns milliseconds, or undefined when the text is not a duration
 * @example parseDuration('1h30m'); // 5_400_000
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const unit: Record<string, number> = { d: DAY_MS, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
  let total = 0;
  let rest = trimmed;
  const part = /^(\d+(?:\.\d+)?)(ms|d|h|m|s)/;
  if (rest.length === 0) return undefined;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (match === null) return undefined;
    total += Number(match[1]) * unit[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

/** A moment: epoch milliseconds, or ISO-8601 text with a zone. */
const Instant = z.union([z.number(), z.string()]).transform((value, context) => {
  const ms = typeof value === 'number' ? value : ISO_WITH_ZONE.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isInteger(ms)) {
    context.addIssue({
      code: 'custom',
      message: 'must be ISO-8601 with a time zone, e.g. 2026-11-26T00:00:00+08:00, or epoch milliseconds',
    });
    return z.NEVER;
  }
  return ms;
});

const Duration = z.union([z.number(), z.string()]).transform((value, context) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    context.addIssue({ code: 'custom', message: 'must be a positive span such as 24h, 90m, 30s or 1h30m' });
    return z.NEVER;
  }
  return ms;
});

/** A surge: the transport and incident rates of one district multiplied by `factor` for `minutes`. */
export interface Surge {
  /** District code, e.g. '440304'. */
  readonly district: string;
  /** Start, epoch ms. */
  readonly start: number;
  readonly minutes: number;
  /** >= 1: 5 means five times the district's normal transport and incident volume. */
  readonly factor: number;
}

const SurgeObject = z.object({
  district: z.string().min(1),
  start: Instant,
  minutes: z.coerce
    .number()
    .positive()
    .max(7 * 24 * 60),
  factor: z.coerce.number().min(1).max(1_000),
});

/** Parses `district=440304,start=2026-11-26T10:00:00+08:00,minutes=10,factor=5` (district: code or name). */
function surgeFromText(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    fields[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return fields;
}

const SurgeInput = z
  .union([z.string().transform(surgeFromText), z.record(z.string(), z.unknown())])
  .pipe(SurgeObject)
  .transform((surge, context): Surge => {
    const { districts } = shenzhenDistricts();
    const wanted = surge.district.toLowerCase().replace(/['’\s]/g, '');
    const district = districts.find(
      (d) =>
        d.code === surge.district ||
        d.nameZh === surge.district ||
        d.nameEn.toLowerCase().replace(/['’\s]/g, '') === wanted,
    );
    if (district === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['district'],
        message: `unknown district '${surge.district}'; use a code such as ${districts.map((d) => `${d.code} (${d.nameEn})`).join(', ')}`,
      });
      return z.NEVER;
    }
    return Object.freeze({ ...surge, district: district.code });
  });

/**
 * Options of `simulateCity` and of `city-ops simulate` (flags with the same names in kebab case:
 * `badRatio` is `--bad-ratio`). Every field is optional; `resolveSimulationOptions` fills the defaults.
 */
export const SimulationOptionsSchema = z.object({
  /** Seed of every random choice: same options, same messages, byte for byte. Default 1. */
  seed: z.coerce.number().int().min(0).max(4_294_967_295).default(1),
  /**
   * First event time (ISO-8601 with a zone, or epoch ms). Default in replay: 00:00 Asia/Shanghai of the
   * previous day, the latest day wholly in the past (events more than 1 h after the producer's clock are
   * dead-lettered by the engine, so "today" could not be replayed whole). Live: now.
   */
  start: Instant.optional(),
  /**
   * Replay: how many events (messages before duplicates and surges) over the duration, default 20 000 000
   * per 24 h of duration. Live: stop after this many.
   */
  events: z.coerce.number().int().positive().optional(),
  /** Span of event time. Replay default: 24h; live: until stopped (or `events`). */
  duration: Duration.optional(),
  /** Event time follows the wall clock; the rate follows the daily curve at the current time of day. */
  live: z.boolean().default(false),
  /**
   * Replay: messages per wall-clock second, or 'max' (default) for as fast as the broker takes them. Live: the
   * mean rate over a day (default 20 000 000 / 86 400 = 231.5 per second), modulated by the daily curve.
   */
  rate: z.union([z.literal('max'), z.coerce.number().positive()]).optional(),
  /** Share of records that break the contract, spread evenly over the nine dead-letter reasons. Default 0. */
  badRatio: z.coerce.number().min(0).max(0.5).default(0),
  /** Share of valid records sent a second time (same key, same bytes), as a department resending. Default 0. */
  duplicateRatio: z.coerce.number().min(0).max(0.5).default(0),
  /** Share of valid transport and incident positions just outside the city (district 'outside'). Default 0.005. */
  outsideRatio: z.coerce.number().min(0).max(0.2).default(0.005),
  /**
   * Bounded disorder: a record is published at most this long (event time) after later-stamped records.
   * Default 2000; the engine tolerates 5000.
   */
  maxDelayMs: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /** Injected surges (repeatable flag `--surge`). */
  surge: z.array(SurgeInput).default([]),
  /** The three providers' faults of `PROVIDER_FAULTS`, for the sharing assessment to show. Default off. */
  faultyProviders: z.boolean().default(false),
});

/**
 * `--faulty-providers`: one provider late (transport: every record published 90 s after its event time),
 * one with invalid records (events: 5% more break the contract) and one silent for an hour (population:
 * nothing in the second hour of the run).
 */
export const PROVIDER_FAULTS = Object.freeze({
  lateMs: 90_000,
  invalidRatio: 0.05,
  silentAfterMs: 3_600_000,
  silentForMs: 3_600_000,
});

export type SimulationOptionsInput = z.input<typeof SimulationOptionsSchema>;

/** Options with every default filled in: what the generator runs on. Frozen. */
export interface SimulationOptions {
  readonly seed: number;
  /** First event time, epoch ms. */
  readonly start: number;
  /** End of event time (exclusive), epoch ms; Infinity when live without a duration. */
  readonly end: number;
  /** Replay: events spread over [start, end). Live: stop after this many (Infinity: never). */
  readonly events: number;
  readonly live: boolean;
  /** Replay: publication pace, messages per second or 'max'. Live: mean events per second over a day. */
  readonly rate: number | 'max';
  readonly badRatio: number;
  readonly duplicateRatio: number;
  readonly outsideRatio: number;
  readonly maxDelayMs: number;
  readonly surges: readonly Surge[];
  readonly faultyProviders: boolean;
}

/**
 * Validates the options and fills the defaults. Uses the wall clock only for the default start (live: now;
 * replay: the previous day's 00:00 Asia/Shanghai); pass `start` for a reproducible run.
 *
 * @param now the wall clock, epoch ms (tests pass a fixed value)
 * @throws CityOpsError CONFIG_INVALID naming the option, e.g. `badRatio (--bad-ratio): too big`
 * @example
 * resolveSimulationOptions({ seed: 7, start: '2026-11-26T00:00:00+08:00', duration: '10m', events: 20_000 });
 */
export function resolveSimulationOptions(
  input: SimulationOptionsInput = {},
  now = Date.now(),
): SimulationOptions {
  const parsed = SimulationOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'options');
      const rest = issue.path.slice(1).join('.');
      return `${name}${rest ? `.${rest}` : ''} (--${kebab(name)}): ${issue.message}`;
    });
    throw new CityOpsError('CONFIG_INVALID', `invalid simulator options: ${problems.join('; ')}`, {
      hint: '`city-ops simulate --help` lists the options and their forms',
    });
  }
  const o = parsed.data;
  let start: number;
  let end: number;
  let events: number;
  let rate: number | 'max';
  if (o.live) {
    start = o.start ?? Math.floor(now / 1000) * 1000;
    end = o.duration === undefined ? Number.POSITIVE_INFINITY : start + o.duration;
    events = o.events ?? Number.POSITIVE_INFINITY;
    rate = o.rate === undefined || o.rate === 'max' ? DAILY_EVENTS / 86_400 : o.rate;
  } else {
    start = o.start ?? shanghaiMidnight(now) - DAY_MS;
    const duration = o.duration ?? DAY_MS;
    end = start + duration;
    events = o.events ?? Math.max(1, Math.round((DAILY_EVENTS * duration) / DAY_MS));
    rate = o.rate ?? 'max';
  }
  return Object.freeze({
    seed: o.seed,
    start,
    end,
    events,
    live: o.live,
    rate,
    badRatio: o.badRatio,
    duplicateRatio: o.duplicateRatio,
    outsideRatio: o.outsideRatio,
    maxDelayMs: o.maxDelayMs,
    surges: Object.freeze(o.surge),
    faultyProviders: o.faultyProviders,
  });
}

/** `2026-11-26T08:00:00+08:00` for an epoch-ms time: how the simulator prints event times. */
export function formatShanghaiTime(ts: number): string {
  return `${new Date(ts + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const WEEK_MS = 7 * 86_400_000;

/**
 * `iso` (a Shanghai time such as '2026-11-26T07:50:00+08:00') moved by whole weeks so that its day falls
 * between 8 and 1 days before `now`: the same weekday and time of day, so a seeded replay looks the same,
 * but always within the 90 days of event time the engine accepts (tests and benchmarks use it).
 */
export function recentLike(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  const day = Date.parse(`${iso.slice(0, 10)}T00:00:00+08:00`);
  const weeks = Math.floor((now - 86_400_000 - day) / WEEK_MS);
  const moved = new Date(at + weeks * WEEK_MS + 8 * 3_600_000).toISOString();
  return `${moved.slice(0, 19)}+08:00`;
}
