import type { AlertConfig } from '../../../engine/alerts/alertConfig.ts';
import { parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { type DistrictWindowMessage, districtWindowMessage } from '../../../engine/contract/aggregates.ts';

/** Districts of the synthetic city and their size (vehicle events per minute at the busiest hour). */
export const SYNTHETIC_DISTRICTS: ReadonlyArray<[string, number]> = [
  ['440303', 260],
  ['440304', 420],
  ['440305', 380],
  ['440306', 450],
  ['440307', 400],
  ['440308', 60],
  ['440309', 300],
  ['440310', 90],
];

export const MINUTE = 60_000;
export const DAY = 86_400_000;
/** Monday 2026-11-23 00:00 Asia/Shanghai, as epoch ms. */
export const DAY0 = Date.UTC(2026, 10, 22, 16, 0, 0);

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Share of the peak rate at a local time of day (hours, 0-24): night trough, two commute peaks. */
export function dailyCurve(hour: number): number {
  const bump = (centre: number, width: number) => Math.exp(-(((hour - centre) / width) ** 2) / 2);
  return 0.08 + 0.35 * bump(13, 4) + 0.6 * bump(8.3, 1.1) + 0.65 * bump(18.2, 1.4);
}

/** A Poisson-like draw (normal approximation, which is what matters at these rates). */
function draw(random: () => number, mean: number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal));
}

export interface Surge {
  readonly district: string;
  readonly start: number;
  readonly minutes: number;
  readonly factor: number;
}

/**
 * The transport `district_window` partials of `days` days from `from` (epoch ms): one final partial per
 * district, minute and partition (`partitions` partitions share the events), a day-to-day variation of
 * +-5 % and a surge multiplying one district's events when given.
 */
export function* transportDays(options: {
  from: number;
  days: number;
  seed: number;
  partitions?: number;
  surge?: Surge;
}): Generator<DistrictWindowMessage> {
  const random = prng(options.seed);
  const partitions = options.partitions ?? 2;
  const minutes = options.days * 1440;
  let dayFactor = 1;
  for (let m = 0; m < minutes; m += 1) {
    if (m % 1440 === 0) dayFactor = 0.95 + random() * 0.1;
    const start = options.from + m * MINUTE;
    const hour = ((start - DAY0) % DAY) / 3_600_000;
    for (const [district, peak] of SYNTHETIC_DISTRICTS) {
      let mean = peak * dailyCurve(hour) * dayFactor;
      const surge = options.surge;
      if (
        surge &&
        surge.district === district &&
        start >= surge.start &&
        start < surge.start + surge.minutes * MINUTE
      ) {
        mean *= surge.factor;
      }
      const total = draw(random, mean);
      for (let p = 0; p < partitions; p += 1) {
        const events =
          p === partitions - 1
            ? total - Math.floor(total / partitions) * (partitions - 1)
            : Math.floor(total / partitions);
        yield windowPartial({ district, start, partition: p, events, speed: 30 - 10 * dailyCurve(hour) });
      }
    }
  }
}

/** One final transport partial with `events` events. */
export function windowPartial(options: {
  district: string;
  start: number;
  partition: number;
  events: number;
  speed?: number;
  revision?: number;
  final?: boolean;
  stream?: DistrictWindowMessage['stream'];
}): DistrictWindowMessage {
  const speed = options.speed ?? 30;
  return districtWindowMessage({
    stream: options.stream ?? 'transport',
    district: options.district,
    window_start: options.start,
    window_end: options.start + MINUTE,
    partition: options.partition,
    revision: options.revision ?? 1,
    final: options.final ?? true,
    events: options.events,
    distinct_keys: Math.round(options.events * 0.6),
    speed_sum: speed * options.events,
    speed_count: options.events,
  });
}

const HEADER = `version: 1
departments:
  - id: transport
    name_en: Transport
    name_zh: 交通运输局
    endpoints: [{ id: t1, url: 'http://127.0.0.1:1/h', secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw] }]
routes: [{ departments: [transport] }]
rules:
`;

/** An alert configuration of one department and endpoint with `rules` (YAML list items). */
export function configOf(rules: string): AlertConfig {
  return parseAlertConfig(HEADER + rules, 'test.yaml', {}).config;
}
