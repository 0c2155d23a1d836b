import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, PROJECT_ROOT } from '../engine/config/environment.ts';
import { ENGINE_THREADPOOL_SIZE } from '../engine/pipeline/streamEngine.ts';

/** An engine of bench:day, running as its own process (`city-ops run`, as in production). */
export interface BenchEngine {
  readonly process: ChildProcess;
  /** Its /metrics address, once it has said it (the engine listens on a free port). */
  metricsUrl(): string | undefined;
  stop(): Promise<void>;
}

export interface BenchEngineOptions {
  readonly workers: string;
  /** Writes V8 CPU profiles (main thread and each worker) into this folder. */
  readonly profileDir?: string | undefined;
  readonly engineArgs: readonly string[];
  readonly nodeArgs: readonly string[];
}

/**
 * Starts `city-ops run` on the bench's topics and databases and gives it 3 s to join its group. Its
 * warnings and errors show in the bench's output (a stalled run says why), and it does not outlive the
 * bench (an error, Ctrl-C or `kill` of the bench alone left it running, with its CPU in the next run).
 */
export async function startBenchEngine(
  env: Environment,
  id: string,
  options: BenchEngineOptions,
): Promise<BenchEngine> {
  const engine = spawn(
    process.execPath,
    [
      ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []),
      ...options.nodeArgs,
      join(PROJECT_ROOT, 'bin', 'city-ops.mjs'),
      'run',
      ...['--group-id', `bench-day-${id}`, '--instance-id', `bench-day-${id}`],
      ...['--workers', options.workers, '--metrics-port', '0'],
      // The engine's default idle timeout (10 s). It was 3 s here, to end each run sooner; a profiled run
      // then showed the publisher's producer holding one partition's messages for more than 3 s while it
      // delivered the others', so that partition's watermark moved on and 241 of its records were late.
      ...options.engineArgs,
    ],
    {
      env: {
        ...process.env,
        CITY_OPS_TOPIC_PREFIX: env.CITY_OPS_TOPIC_PREFIX,
        CLICKHOUSE_DATABASE: env.CLICKHOUSE_DATABASE,
        CLICKHOUSE_RESTRICTED_DATABASE: env.CLICKHOUSE_RESTRICTED_DATABASE,
        LOG_LEVEL: process.env['BENCH_ENGINE_LOG_LEVEL'] ?? 'warn',
        UV_THREADPOOL_SIZE: String(ENGINE_THREADPOOL_SIZE),
      },
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  let metricsUrl: string | undefined;
  engine.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    metricsUrl ??= /metrics and health on (http:\/\/\S+\/metrics)/.exec(chunk.toString())?.[1];
  });
  const orphan = () => {
    if (engine.exitCode === null) engine.kill('SIGTERM');
  };
  process.once('exit', orphan);
  await sleep(3_000);
  return {
    process: engine,
    metricsUrl: () => metricsUrl,
    async stop() {
      process.off('exit', orphan);
      if (engine.exitCode !== null) return;
      engine.kill('SIGTERM');
      await new Promise((resolve) => engine.once('exit', resolve));
    },
  };
}

/** The engine's busy seconds per thread, from its /metrics (empty when it cannot be read). */
export function threadBusy(url: string | undefined): Promise<Record<string, number>> {
  return gaugeByLabel(url, 'city_ops_engine_thread_busy_seconds', 'thread');
}

/** How far behind each joined table the engine's finalizer is, seconds of event time (empty before its first round). */
export function finalizerBehind(url: string | undefined): Promise<Record<string, number>> {
  return gaugeByLabel(url, 'city_ops_finalizer_behind_seconds', 'table');
}

/** The final watermark (epoch ms) of the finalizer's last round, or undefined before one. */
export async function finalizerWatermark(url: string | undefined): Promise<number | undefined> {
  if (!url) return undefined;
  try {
    const text = await (await fetch(url)).text();
    const m = /^city_ops_finalizer_watermark_seconds (\S+)$/m.exec(text);
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** One labelled gauge of the engine's /metrics, by its label's value (empty when it cannot be read). */
async function gaugeByLabel(
  url: string | undefined,
  name: string,
  label: string,
): Promise<Record<string, number>> {
  if (!url) return {};
  try {
    const text = await (await fetch(url)).text();
    const values: Record<string, number> = {};
    for (const m of text.matchAll(new RegExp(`^${name}\\{${label}="([^"]+)"\\} (\\S+)$`, 'gm')))
      values[m[1]!] = Number(m[2]);
    return values;
  } catch {
    return {};
  }
}

/**
 * Waits until the engine's finalizer has written the joined tables (district_pulse, incident_impact) up to
 * the final watermark: after a replay it still joins the day's incidents when the windows are all in.
 * Resolves with the seconds waited, or null when the finalizer made no progress for `stallSeconds`.
 */
export async function waitForJoinedLayer(
  engine: BenchEngine,
  lastWindowStart: number,
  stallSeconds: number,
  say: (line: string) => void,
  started = performance.now(),
): Promise<number | null> {
  let last = '';
  let lastProgress = started;
  let lastSay = 0;
  for (;;) {
    const behind = await finalizerBehind(engine.metricsUrl());
    const values = Object.values(behind);
    // "Not behind" counts only from a round that saw the replay's last minute: a round from before the
    // last windows landed is not behind its own, older watermark either.
    const watermark = await finalizerWatermark(engine.metricsUrl());
    const seenEnd = watermark !== undefined && watermark >= lastWindowStart;
    if (seenEnd && values.length > 0 && values.every((s) => s === 0))
      return (performance.now() - started) / 1000;
    const now = performance.now();
    const seen = JSON.stringify(behind);
    if (seen !== last) lastProgress = now;
    last = seen;
    if (now - lastProgress > stallSeconds * 1000) return null;
    if (now - lastSay > 10_000) {
      say(
        `joined layer: ${
          Object.entries(behind)
            .map(([table, s]) => `${table} ${(s / 3600).toFixed(1)} h of event time behind`)
            .join(', ') || 'finalizer not reporting yet'
        }`,
      );
      lastSay = now;
    }
    await sleep(1_000);
  }
}
