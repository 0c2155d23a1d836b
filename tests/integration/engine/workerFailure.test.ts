import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { streamTopic } from '../../../engine/contract/topics.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { resolveEngineOptions } from '../../../engine/pipeline/engineOptions.ts';
import { StreamEngine } from '../../../engine/pipeline/streamEngine.ts';
import {
  cleanupRun,
  districtMinute,
  type EngineRun,
  prepareRun,
  publish,
  startEngine,
  stopEngine,
  truthDistrictMinute,
  waitForCompletion,
} from '../../helpers/engineHarness.ts';
import { recentLike } from '../../helpers/environment.ts';

/** The fault: the batch holding this offset of transport partition 0 fails in its worker. */
const FAULT_OFFSET = 1_500;

async function committed(run: EngineRun, topic: string): Promise<Map<number, number>> {
  const admin = createKafka(run.env, 'failure-offsets').admin();
  await admin.connect();
  try {
    const [group] = await admin.fetchOffsets({ groupId: run.groupId, topics: [topic] });
    return new Map((group?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

describe('a worker fails in the middle of a batch', () => {
  let run: EngineRun | undefined;
  afterAll(async () => {
    delete process.env['CITY_OPS_TEST_FAIL_AT'];
    if (run) await cleanupRun(run);
  });

  it('commits nothing past the failed batch, keeps committing nothing after, and is exact after a restart', async () => {
    run = await prepareRun('failure', { partitions: 2 });
    const published = await publish(run, {
      seed: 23,
      start: recentLike('2026-11-26T11:00:00+08:00'),
      duration: '10m',
      events: 12_000,
    });
    const transport = streamTopic('transport', run.env.CITY_OPS_TOPIC_PREFIX);
    // In this process, so that its timers run on after the failure as they would in any process that
    // outlives it; small batches, so that later batches of the partition are in flight when it fails.
    process.env['CITY_OPS_TEST_FAIL_AT'] = `${transport}:0:${FAULT_OFFSET}`;
    const engine = new StreamEngine(
      run.env,
      resolveEngineOptions({
        groupId: run.groupId,
        batchSize: 100,
        flushIntervalMs: 200,
        idleTimeoutMs: 2_000,
        metricsPort: -1,
        workers: 2,
        finalizer: false,
      }),
      createLogger('failure-test', 'silent'),
    );
    await engine.start();
    const failure = await engine.failed;
    expect(failure.message).toMatch(/injected fault/);
    expect(engine.health().ok).toBe(false);
    // Five flush intervals: a flush or a commit after the failure would show now.
    await sleep(1_000);
    const afterFailure = await committed(run, transport);
    expect(afterFailure.get(0) ?? 0).toBeLessThanOrEqual(FAULT_OFFSET);
    await sleep(1_000);
    expect(await committed(run, transport)).toEqual(afterFailure);
    await engine.stop();
    delete process.env['CITY_OPS_TEST_FAIL_AT'];

    const restarted = startEngine(run);
    await waitForCompletion(run, published);
    await stopEngine(restarted);
    expect(Object.fromEntries(await districtMinute(run))).toEqual(
      Object.fromEntries(truthDistrictMinute(published.truth)),
    );
  });
});
