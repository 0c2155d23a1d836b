import { existsSync, readFileSync } from 'node:fs';
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

/**
 * A partition is idle only when it is read to its end. librdkafka stops fetching while its local queue is
 * full, and the end offset it caches is as old as the partition's last fetch: a sparse partition behind a
 * busy one then looked caught up and silent, its watermark moved to the busy partitions' and its next
 * records were late (bench:day lost 56 incidents that way). Here the engine's fetch queue is tiny and its
 * idle timeout short, and records arrive while it runs, faster than it reads them.
 */
describe('engine: a partition starved of fetches is not taken for idle', () => {
  const runs: EngineRun[] = [];
  const engines: EngineProcess[] = [];

  afterAll(async () => {
    await Promise.all(engines.map((e) => stopEngine(e)));
    for (const run of runs) await cleanupRun(run);
  });

  it('no record is late and the windows are exact', async () => {
    const run = await prepareRun('starved');
    runs.push(run);
    const engine = startEngine(run, ['--fetch-queue-kbytes', '128', '--idle-timeout-ms', '200']);
    engines.push(engine);
    // Publish only once the engine holds its partitions, so that records arrive while it reads.
    await waitUntil(
      async () =>
        existsSync(engine.logFile) &&
        (readFileSync(engine.logFile, 'utf8').match(/partition state restored/g) ?? []).length >= 18,
      60_000,
      async () => `the engine was not assigned its 18 partitions within 60 s\n${engineLogTails(run)}`,
    );
    const published = await publish(run, {
      seed: 17,
      start: '2026-11-26T17:30:00+08:00',
      duration: '30m',
      events: 120_000,
      badRatio: 0,
      duplicateRatio: 0,
    });
    await waitForCompletion(run, published, 240_000);
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
