import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../../../engine/stack/localStack.ts';
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
import { recentLike, testEnv } from '../../helpers/environment.ts';

const SIMULATION = {
  start: recentLike('2026-11-26T09:00:00+08:00'),
  duration: '15m',
  events: 40_000,
  badRatio: 0.002,
  duplicateRatio: 0.01,
  rate: 4_000,
} as const;

/**
 * The services the engine depends on go away in the middle of a run: ClickHouse stops for a while, the Kafka
 * broker restarts. The engine keeps what it has not written, commits nothing it has not written, and the
 * results are exact once the services are back. These tests stop and start the local stack's own processes.
 */
describe('engine: outages of ClickHouse and Kafka', () => {
  const stack = new LocalStack(testEnv);
  const runs: EngineRun[] = [];
  const engines: EngineProcess[] = [];
  const log = () => {};

  afterAll(async () => {
    // Whatever happened, leave the stack up for the next tests.
    await stack.up(log);
    await Promise.all(engines.map((e) => stopEngine(e, 'SIGKILL')));
    for (const run of runs) await cleanupRun(run);
  });

  it('ClickHouse killed and down for 8 s mid-run: nothing lost, nothing counted twice', async () => {
    const run = await prepareRun('chdown');
    runs.push(run);
    // 20 s of input: the outage must fall while records arrive.
    const publishing = publish(run, { ...SIMULATION, seed: 31, rate: 2_000 });
    const engine = startEngine(run, ['--instance-id', 'chdown']);
    engines.push(engine);
    // Stop ClickHouse once the engine has written something, so the outage interrupts real work (a fixed
    // delay did not always: a slow engine start had written nothing after 5 s).
    const written = async () =>
      Number(
        (await query<{ n: string }>(run.clickhouse, `SELECT count() AS n FROM ${run.db}.transport_atomic`))[0]
          ?.n,
      );
    await waitUntil(
      async () => (await written()) > 0,
      60_000,
      async () => `the engine wrote no transport row within 60 s\n${engineLogTails(run)}`,
    );
    const before = await written();
    // Killed, not shut down: a graceful shutdown of ClickHouse 18.16 takes up to 15 s and keeps serving
    // meanwhile, so the outage sometimes began after the input had ended and no flush failed (seen in CI).
    expect(await stack.clickhouse.stop(0)).toBe(true);
    await sleep(8_000);
    await stack.clickhouse.start(log);
    const published = await publishing;
    await waitForCompletion(run, published, 240_000);
    expect(before).toBeGreaterThan(0);
    expect(Object.fromEntries(await districtMinute(run))).toEqual(
      Object.fromEntries(truthDistrictMinute(published.truth)),
    );
    const [dead] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.dead_letters FINAL`,
    );
    expect(Number(dead?.n)).toBe(published.truth.totals.invalid);
    // The engine saw the outage, retried, and recovered without a restart.
    const metrics = await (await fetch(`http://127.0.0.1:${await metricsPort(engine)}/metrics`)).text();
    expect(Number(/city_ops_flush_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    await stopEngine(engine);
  });

  it('the Kafka broker restarts mid-run: nothing lost, nothing counted twice', async () => {
    const run = await prepareRun('kafkarestart');
    runs.push(run);
    // Publish first: the producer of the test is not what is under test here.
    const published = await publish(run, { ...SIMULATION, seed: 32, rate: 'max' });
    const engine = startEngine(run, [
      '--instance-id',
      'kafkarestart',
      '--max-poll-records',
      '500',
      '--batch-size',
      '250',
    ]);
    engines.push(engine);
    // Mid-run: once the engine has written rows, while it still holds open windows and uncommitted work.
    await waitUntil(
      async () =>
        Number(
          (
            await query<{ n: string }>(run.clickhouse, `SELECT count() AS n FROM ${run.db}.transport_atomic`)
          )[0]?.n,
        ) > 0,
      60_000,
      async () => `the engine wrote no transport row within 60 s\n${engineLogTails(run)}`,
    );
    expect(await stack.kafka.stop()).toBe(true);
    await sleep(3_000);
    await stack.kafka.start(log);
    await waitForCompletion(run, published, 240_000);
    expect(Object.fromEntries(await districtMinute(run))).toEqual(
      Object.fromEntries(truthDistrictMinute(published.truth)),
    );
    await stopEngine(engine);
  });
});

/** The engine logs its metrics port on standard error at start. */
async function metricsPort(engine: EngineProcess): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const match = /metrics and health on http:\/\/127\.0\.0\.1:(\d+)/.exec(
    readFileSync(engine.logFile, 'utf8'),
  );
  if (!match) throw new Error(`no metrics port in ${engine.logFile}`);
  return Number(match[1]);
}
