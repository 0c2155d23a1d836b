import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadEnvironment } from '../../config/environment.ts';
import { ensureTopics } from '../../connectors/kafka/client.ts';
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_EVENT_AGE_MS } from '../../contract/decodeRecord.ts';
import { STREAM_NAMES, streamTopic } from '../../contract/topics.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { type PublishProgress, publishSimulation } from '../../simulator/publishSimulation.ts';
import { formatTruth } from '../../simulator/SimulationTruth.ts';
import {
  formatShanghaiTime,
  resolveSimulationOptions,
  type SimulationOptions,
  type SimulationOptionsInput,
} from '../../simulator/simulationOptions.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops simulate [options]

Publishes a deterministic simulation of Shenzhen to city.transport, city.events and city.population
(docs/simulator.md). Progress goes to standard error every 5 s; a JSON summary to standard output.

Replay (default): events spread over a span of event time following the daily curve.
  --start <iso>            first event time, with a zone (default: yesterday 00:00 Asia/Shanghai)
  --duration <span>        span of event time: 24h, 90m, 30s, 1h30m (default 24h)
  --events <n>             events over the span (default 20 000 000 per 24 h)
  --rate <n|max>           messages per wall-clock second, or max (default max)
Live:
  --live                   event time follows the wall clock; runs until --duration, --events or Ctrl-C
  --rate <n>               mean events per second over a day (default 231.5 = 20 M/day), shaped by the daily curve
Both:
  --seed <n>               seed of every random choice (default 1): same options, same messages
  --bad-ratio <0..0.5>     share of records that break the contract, over the eleven record faults (default 0)
  --duplicate-ratio <r>    share of valid records sent twice, same key and bytes (default 0)
  --outside-ratio <r>      share of transport and incident positions just outside the city (default 0.005)
  --max-delay-ms <ms>      bound of the disorder between event time and publication order (default 2000)
  --surge <spec>           district=440304,start=2026-11-26T10:00:00+08:00,minutes=10,factor=5 (repeatable)
  --faulty-providers       transport late (90 s), events with 5% more invalid records, population silent in
                           the run's second hour: what the sharing assessment is to show
  --truth <file.json>      write the truth: accepted events per stream, district and minute; dead letters
  --topic-prefix <p>       prefix of the topic names (default: CITY_OPS_TOPIC_PREFIX)
  --dry-run                generate and count, publish nothing
  --quiet                  no progress lines`;

function flags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        events: { type: 'string' },
        duration: { type: 'string' },
        start: { type: 'string' },
        rate: { type: 'string' },
        live: { type: 'boolean', default: false },
        'bad-ratio': { type: 'string' },
        'duplicate-ratio': { type: 'string' },
        'outside-ratio': { type: 'string' },
        'max-delay-ms': { type: 'string' },
        surge: { type: 'string', multiple: true },
        'faulty-providers': { type: 'boolean', default: false },
        truth: { type: 'string' },
        'topic-prefix': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
    }).values;
  } catch (cause) {
    throw new CityOpsError('CLI_USAGE', (cause as Error).message, {
      cause,
      hint: 'run `city-ops simulate --help`',
    });
  }
}

/** The flags as simulator options (zod validates and coerces them). */
function toOptions(values: ReturnType<typeof flags>): SimulationOptionsInput {
  const input: Record<string, unknown> = {
    live: values.live,
    surge: values.surge ?? [],
    faultyProviders: values['faulty-providers'],
  };
  const pairs: Array<[string, string | undefined]> = [
    ['seed', values.seed],
    ['events', values.events],
    ['duration', values.duration],
    ['start', values.start],
    ['rate', values.rate],
    ['badRatio', values['bad-ratio']],
    ['duplicateRatio', values['duplicate-ratio']],
    ['outsideRatio', values['outside-ratio']],
    ['maxDelayMs', values['max-delay-ms']],
  ];
  for (const [name, value] of pairs) if (value !== undefined) input[name] = value;
  if (typeof input['start'] === 'string' && /^\d+$/.test(input['start']))
    input['start'] = Number(input['start']);
  return input as SimulationOptionsInput;
}

function describeRun(options: SimulationOptions, prefix: string, dryRun: boolean): string {
  const count = Number.isFinite(options.events) ? `, ${options.events.toLocaleString('en-US')} events` : '';
  const span = Number.isFinite(options.end)
    ? `${formatShanghaiTime(options.start)} .. ${formatShanghaiTime(options.end)}`
    : `from ${formatShanghaiTime(options.start)} until stopped`;
  const pace = options.live
    ? `live, ${Math.round(Number(options.rate) * 10) / 10} events/s on average`
    : options.rate === 'max'
      ? 'as fast as possible'
      : `${options.rate} messages/s`;
  const target = dryRun
    ? 'dry run: nothing is published'
    : STREAM_NAMES.map((s) => streamTopic(s, prefix)).join(', ');
  return `simulate: seed ${options.seed}${count}, ${span}, ${pace} -> ${target}`;
}

function progressLine(progress: PublishProgress): string {
  const done = progress.done === null ? '' : `, ${(progress.done * 100).toFixed(1)} %`;
  return `simulate: ${progress.sent.toLocaleString('en-US')} sent (${Math.round(progress.rate).toLocaleString('en-US')}/s), event time ${formatShanghaiTime(progress.eventTime)}${done}`;
}

export const command: Command = {
  summary: 'Publish a deterministic simulation of the city (transport, incidents, population) to Kafka.',
  usage: USAGE,
  async run(argv) {
    const values = flags(argv);
    const now = Date.now();
    const options = resolveSimulationOptions(toOptions(values), now);
    const dryRun = values['dry-run'];
    if (!dryRun && !options.live && options.end - 1 > now + DEFAULT_CLOCK_SKEW_MS) {
      throw new CityOpsError(
        'CLI_USAGE',
        `the replay ends at ${formatShanghaiTime(options.end)}, after now: the engine dead-letters events from the future as clock_skew`,
        { hint: 'replay a span in the past (--start, --duration), or use --live' },
      );
    }
    if (!dryRun && options.start < now - DEFAULT_MAX_EVENT_AGE_MS) {
      throw new CityOpsError(
        'CLI_USAGE',
        `the replay starts at ${formatShanghaiTime(options.start)}, more than 90 days ago: the engine dead-letters such events as too_old`,
        { hint: 'replay a span of the last 90 days (--start)' },
      );
    }
    const env = loadEnvironment();
    const prefix = values['topic-prefix'] ?? env.CITY_OPS_TOPIC_PREFIX;
    const logger = createLogger('simulator');
    const say = (line: string) => process.stderr.write(`${line}\n`);
    if (!dryRun)
      await ensureTopics(
        env,
        STREAM_NAMES.map((s) => streamTopic(s, prefix)),
      );
    say(describeRun(options, prefix, dryRun));

    const stop = new AbortController();
    const onSignal = () => {
      if (stop.signal.aborted) process.exit(130);
      say('simulate: stopping (Ctrl-C again to quit at once)');
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const report = await publishSimulation(options, {
        env,
        topicPrefix: prefix,
        dryRun,
        signal: stop.signal,
        logger,
        truth: values.truth !== undefined,
        ...(values.quiet ? {} : { onProgress: (progress: PublishProgress) => say(progressLine(progress)) }),
      });
      if (report.truth !== null && values.truth !== undefined)
        await writeFile(values.truth, formatTruth(report.truth));
      const stats = report.stats;
      process.stdout.write(
        `${JSON.stringify(
          {
            sent: report.sent,
            seconds: Number(report.seconds.toFixed(3)),
            startup_seconds: Number(report.startupSeconds.toFixed(3)),
            rate: Math.round(report.rate),
            by_stream: report.byStream,
            valid: stats.valid,
            duplicates: stats.duplicates,
            invalid: stats.invalid,
            surge: stats.surge,
            event_time_reached: formatShanghaiTime(report.eventTime),
            delivery_failures: report.deliveryFailures,
            interrupted: report.interrupted,
            dry_run: dryRun,
            truth: values.truth ?? null,
          },
          null,
          2,
        )}\n`,
      );
      if (report.deliveryFailures > 0) {
        say(`simulate: ${report.deliveryFailures} messages were not delivered to Kafka (see the log above)`);
        return 1;
      }
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      logger.flush();
    }
  },
};
