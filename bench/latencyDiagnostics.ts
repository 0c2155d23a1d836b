import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '../engine/connectors/clickhouse/client.ts';
import { processUsage } from './benchStack.ts';

/**
 * What else happened while the latency probes ran, to tell where a probe's tail comes from: the engine's
 * flushes (insert of every table and the commit; city_ops_flush_seconds), ClickHouse's background merges,
 * each process's CPU, and the probe's own polling query.
 */
export interface LatencyDiagnostics {
  /** Flushes in the phase by duration bucket (upper bound in seconds -> count), from the engine's histogram. */
  readonly engineFlushes: Record<string, number> | null;
  /** Merges running in ClickHouse, sampled each second: mean and most at once. */
  readonly clickhouseMerges: { readonly mean: number; readonly max: number; readonly samples: number };
  /** CPU-seconds each process used during the phase. */
  readonly cpuSeconds: { readonly engine: number | null; readonly clickhouse: number };
  /** Where the engine's finalizer stood (finalizer_progress, ISO time finalized through) at the start and end. */
  readonly finalizedThrough: { readonly start: Record<string, string>; readonly end: Record<string, string> };
  /** The probe's polling query, as the bench's client timed it. */
  readonly pollQueryMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

export interface DiagnosticsWatch {
  /** Times one polling query (the bench's client, end to end). */
  pollTook(ms: number): void;
  finish(): Promise<LatencyDiagnostics>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function watchDiagnostics(
  clickhouse: ClickHouseClient,
  db: string,
  processes: {
    readonly engineMetricsUrl?: string | undefined;
    readonly enginePid?: number | undefined;
    readonly clickhousePid: number;
  },
): Promise<DiagnosticsWatch> {
  const flushesBefore = await flushBuckets(processes.engineMetricsUrl);
  const engineBefore = processes.enginePid ? processUsage(processes.enginePid).cpuSeconds : null;
  const clickhouseBefore = processUsage(processes.clickhousePid).cpuSeconds;
  const finalizedAtStart = await finalizedThrough(clickhouse, db);
  const polls: number[] = [];
  const merges: number[] = [];
  let watching = true;
  const sampler = (async () => {
    while (watching) {
      const rows = await (
        await clickhouse.query({ query: 'SELECT count() AS n FROM system.merges', format: 'JSONEachRow' })
      ).json<{ n: string }>();
      merges.push(Number(rows[0]?.n ?? 0));
      await sleep(1_000);
    }
  })();
  return {
    pollTook: (ms) => polls.push(ms),
    async finish() {
      watching = false;
      await sampler;
      const flushesAfter = await flushBuckets(processes.engineMetricsUrl);
      polls.sort((a, b) => a - b);
      return {
        engineFlushes: flushesAfter && flushesBefore ? bucketDelta(flushesBefore, flushesAfter) : null,
        clickhouseMerges: {
          mean: Number((merges.reduce((a, b) => a + b, 0) / Math.max(1, merges.length)).toFixed(2)),
          max: Math.max(0, ...merges),
          samples: merges.length,
        },
        cpuSeconds: {
          engine:
            processes.enginePid && engineBefore !== null
              ? round1(processUsage(processes.enginePid).cpuSeconds - engineBefore)
              : null,
          clickhouse: round1(processUsage(processes.clickhousePid).cpuSeconds - clickhouseBefore),
        },
        finalizedThrough: { start: finalizedAtStart, end: await finalizedThrough(clickhouse, db) },
        pollQueryMs: {
          p50: percentile(polls, 50),
          p99: percentile(polls, 99),
          max: polls[polls.length - 1] ?? Number.NaN,
        },
      };
    },
  };
}

async function finalizedThrough(clickhouse: ClickHouseClient, db: string): Promise<Record<string, string>> {
  const rows = await (
    await clickhouse.query({
      query: `SELECT what, max(finalized_through_ms) AS through FROM ${db}.finalizer_progress GROUP BY what`,
      format: 'JSONEachRow',
    })
  ).json<{ what: string; through: string }>();
  return Object.fromEntries(rows.map((r) => [r.what, new Date(Number(r.through)).toISOString()]));
}

/** The engine's cumulative flush-duration buckets (`le` -> count), or null when /metrics cannot be read. */
async function flushBuckets(url: string | undefined): Promise<Map<string, number> | null> {
  if (!url) return null;
  try {
    const text = await (await fetch(url)).text();
    const buckets = new Map<string, number>();
    for (const m of text.matchAll(/^city_ops_flush_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm))
      buckets.set(m[1]!, Number(m[2]));
    return buckets;
  } catch {
    return null;
  }
}

/** Prometheus buckets are cumulative; this gives the flushes that fell in each bucket during the phase. */
function bucketDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  let below = 0;
  for (const [le, total] of after) {
    const cumulative = total - (before.get(le) ?? 0);
    out[`≤${le}`] = cumulative - below;
    below = cumulative;
  }
  return out;
}

function round1(x: number): number {
  return Number(x.toFixed(1));
}
