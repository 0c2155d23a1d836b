import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanupRun,
  districtMinute,
  type EngineProcess,
  type EngineRun,
  engineLogTails,
  prepareRun,
  publish,
  query,
  startEngine,
  stopEngine,
  truthDistrictMinute,
  waitForCompletion,
  waitUntil,
} from '../../helpers/engineHarness.ts';
import { recentLike } from '../../helpers/environment.ts';

/** The harness's idle timeout (startEngine passes --idle-timeout-ms 2000). */
const IDLE_TIMEOUT_MS = 2_000;
/** Frozen for longer than the idle timeout plus one idle check (every second), well inside the 10 s session timeout. */
const MIN_FREEZE_MS = IDLE_TIMEOUT_MS + 2_500;
const MAX_FREEZE_MS = 7_000;

/**
 * A partition is idle only when it is read to its end. librdkafka stops fetching while its local queue is
 * full, and the end offset it caches is as old as the partition's last fetch: a sparse partition behind a
 * busy one then looked caught up and silent, its watermark moved to the busy partitions' and its next
 * records were late (bench:day lost 56 incidents that way).
 *
 * Here the engine's fetch queue is tiny, and the engine is frozen (SIGSTOP) while the simulator goes on
 * publishing, for longer than its idle timeout. When it thaws, every partition has been silent for longer
 * than the idle timeout and the end offsets it caches are those of before the freeze, while the broker
 * holds records it has not read: on the cached end offsets alone, the engine would take every partition
 * for idle, move its watermark past the windows it has not read yet, and those records would be late.
 *
 * An earlier version of this test ran the engine with a 200 ms idle timeout and records arriving while it
 * read. On a slow machine the engine kept up with the simulator, and a pause of the simulator longer than
 * 200 ms was a real silence: the engine moved on as it should, and the records after it were late (the
 * project's CI, 937 late records; reproduced by stopping the simulator for 1 s). With the freeze, the
 * whole test depends on no pause of the simulator shorter than the harness's 2 s.
 */
describe('engine: a partition starved of fetches is not taken for idle', () => {
  const runs: EngineRun[] = [];
  const engines: EngineProcess[] = [];

  afterAll(async () => {
    for (const e of engines) e.child.kill('SIGCONT');
    await Promise.all(engines.map((e) => stopEngine(e)));
    for (const run of runs) await cleanupRun(run);
  });

  it('no record is late and the windows are exact', async () => {
    const run = await prepareRun('starved');
    runs.push(run);
    const engine = startEngine(run, ['--fetch-queue-kbytes', '128']);
    engines.push(engine);
    // Publish only once the engine holds its partitions, so that it reads records before the freeze.
    await waitUntil(
      async () =>
        existsSync(engine.logFile) &&
        (readFileSync(engine.logFile, 'utf8').match(/partition state restored/g) ?? []).length >= 18,
      60_000,
      async () => `the engine was not assigned its 18 partitions within 60 s\n${engineLogTails(run)}`,
    );
    const events = 120_000;
    let sent = 0;
    let frozen: { at: number; sent: number } | undefined;
    const publishing = publish(
      run,
      {
        seed: 17,
        start: recentLike('2026-11-26T17:30:00+08:00'),
        duration: '30m',
        events,
        badRatio: 0,
        duplicateRatio: 0,
      },
      {
        progressIntervalMs: 50,
        onProgress: (progress) => {
          sent = progress.sent;
          if (frozen === undefined && sent >= events / 4) {
            engine.child.kill('SIGSTOP');
            frozen = { at: performance.now(), sent };
          }
        },
      },
    );
    let ended = false;
    const finished = publishing.then(
      () => {
        ended = true;
      },
      () => {
        ended = true;
      },
    );
    await waitUntil(
      async () => frozen !== undefined || ended,
      120_000,
      async () => `the simulator did not publish a quarter of the records within 120 s (${sent} sent)`,
    );
    if (frozen === undefined) throw new Error(`the simulator ended before a quarter was published (${sent})`);
    // Thaw once the simulator is done and MIN_FREEZE_MS have passed, or after MAX_FREEZE_MS in any case.
    const since = performance.now() - frozen.at;
    await Promise.race([
      Promise.all([finished, sleep(Math.max(0, MIN_FREEZE_MS - since))]),
      sleep(Math.max(0, MAX_FREEZE_MS - since)),
    ]);
    engine.child.kill('SIGCONT');
    const freeze = {
      ms: Math.round(performance.now() - frozen.at),
      sentBefore: frozen.sent,
      sentDuring: sent - frozen.sent,
    };
    console.log(JSON.stringify({ freeze }));
    // The premise: records were published while the engine was frozen, for longer than its idle timeout.
    expect(freeze.sentDuring).toBeGreaterThan(0);
    expect(freeze.ms).toBeGreaterThanOrEqual(MIN_FREEZE_MS);
    const published = await publishing;
    await waitForCompletion(run, published, 240_000, { lateCounts: true });
    const [late] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.late_events`,
    );
    expect(Number(late?.n)).toBe(0);
    expect(Object.fromEntries(await districtMinute(run))).toEqual(
      Object.fromEntries(truthDistrictMinute(published.truth)),
    );
  });
});
