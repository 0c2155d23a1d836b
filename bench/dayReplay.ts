import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '../engine/connectors/clickhouse/client.ts';
import type { SimulationTruthFile } from '../engine/simulator/SimulationTruth.ts';
import { processUsage } from './benchStack.ts';
import { type BenchEngine, waitForJoinedLayer } from './dayEngine.ts';

export interface WindowsWait {
  /** Accepted events counted in city.district_minute when the wait ended. */
  readonly landed: number;
  /** Accepted events recorded as late instead (never in a window). */
  readonly late: number;
  /** True when nothing moved for the stall limit: the run failed. */
  readonly stalled: boolean;
}

/**
 * Waits until every accepted event is either counted in a window or recorded as late (a late event is
 * never in district_minute, so waiting for the total alone would wait forever). No progress for
 * `stallSeconds` ends the wait too, as a failed run.
 */
export async function waitForWindows(
  count: (query: string) => Promise<number>,
  db: string,
  expected: number,
  stallSeconds: number,
  say: (line: string) => void,
): Promise<WindowsWait> {
  let landed = 0;
  let late = 0;
  let lastSay = 0;
  let lastProgress = performance.now();
  for (;;) {
    const [nowLanded, nowLate] = await Promise.all([
      count(`SELECT sum(events) AS n FROM ${db}.district_minute`),
      count(`SELECT count() AS n FROM ${db}.late_events FINAL`),
    ]);
    const now = performance.now();
    if (nowLanded !== landed || nowLate !== late) lastProgress = now;
    landed = nowLanded;
    late = nowLate;
    if (landed + late >= expected) return { landed, late, stalled: false };
    if (now - lastProgress > stallSeconds * 1000) {
      say(`no progress for ${stallSeconds} s: stopping the wait (the run failed)`);
      return { landed, late, stalled: true };
    }
    if (now - lastSay > 5_000) {
      say(
        `${landed.toLocaleString('en')} of ${expected.toLocaleString('en')} events in city.district_minute` +
          (late > 0 ? `, ${late.toLocaleString('en')} late (city.late_events)` : ''),
      );
      lastSay = now;
    }
    await sleep(1_000);
  }
}

/** Windows of city.district_minute that differ from the truth, plus those the truth does not have. */
export async function windowMismatches(
  clickhouse: ClickHouseClient,
  db: string,
  truth: SimulationTruthFile,
): Promise<number> {
  const rows = await (
    await clickhouse.query({
      query: `SELECT stream, district, toUInt64(window_start) * 1000 AS ws, events FROM ${db}.district_minute`,
      format: 'JSONEachRow',
    })
  ).json<{ stream: string; district: string; ws: string; events: string }>();
  const actual = new Map(rows.map((r) => [`${r.stream}|${r.district}|${r.ws}`, Number(r.events)]));
  let mismatches = 0;
  for (const w of truth.windows)
    if (actual.get(`${w.stream}|${w.district}|${w.window_start}`) !== w.events) mismatches++;
  return mismatches + Math.max(0, actual.size - truth.windows.length);
}

/** Seconds each engine thread was busy between two readings of city_ops_engine_thread_busy_seconds, and its share of `seconds`. */
export function busyPerThread(
  before: Record<string, number>,
  after: Record<string, number>,
  seconds: number,
): Record<string, { busySeconds: number; percent: number }> {
  return Object.fromEntries(
    Object.entries(after).map(([thread, busy]) => {
      const busySeconds = busy - (before[thread] ?? 0);
      return [
        thread,
        { busySeconds: Number(busySeconds.toFixed(1)), percent: Math.round((100 * busySeconds) / seconds) },
      ];
    }),
  );
}

/**
 * The wait, after the windows are in, for the finalizer to write the joined tables up to the final
 * watermark, with the CPU it took and the end to end time of the replay including it.
 */
export async function measureJoinedLayer(
  engine: BenchEngine,
  clickhousePid: number,
  times: { replayStarted: number; windowsDone: number; lastWindowStart: number },
  stallSeconds: number,
  say: (line: string) => void,
) {
  const round1 = (x: number) => Number(x.toFixed(1));
  const { replayStarted, windowsDone, lastWindowStart } = times;
  const before = { engine: processUsage(engine.process.pid!), clickhouse: processUsage(clickhousePid) };
  const seconds = await waitForJoinedLayer(engine, lastWindowStart, stallSeconds, say, windowsDone);
  const endToEnd = (performance.now() - replayStarted) / 1000;
  const figures = {
    what: 'after the windows were in, until the finalizer had written district_pulse and incident_impact up to the final watermark (city_ops_finalizer_behind_seconds 0)',
    seconds: seconds === null ? null : round1(seconds),
    endToEndSeconds: seconds === null ? null : round1(endToEnd),
    stalled: seconds === null,
    engineCpuSeconds: round1(processUsage(engine.process.pid!).cpuSeconds - before.engine.cpuSeconds),
    clickhouseCpuSeconds: round1(processUsage(clickhousePid).cpuSeconds - before.clickhouse.cpuSeconds),
  };
  say(
    seconds === null
      ? `joined layer: no progress for ${stallSeconds} s (stalled)`
      : `joined layer: complete ${figures.seconds} s after the windows, ${figures.endToEndSeconds} s after the replay began`,
  );
  return figures;
}
