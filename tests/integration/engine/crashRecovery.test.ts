import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  actualIncidentImpact,
  cleanupRun,
  districtMinute,
  type EngineProcess,
  type EngineRun,
  engineLogTails,
  expectedIncidentImpact,
  type Published,
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

const SIMULATION = {
  seed: 11,
  start: recentLike('2026-11-26T17:40:00+08:00'),
  duration: '30m',
  events: 60_000,
  badRatio: 0.002,
  duplicateRatio: 0.01,
  // Publish at a pace the engine keeps up with, so the kills below land while it is working: 60 s, twice
  // what the three kill cycles took when each engine start was quick. At 2 000/s (30 s) a slower start of
  // the engine (its worker threads load the TypeScript sources) let the input end before the third kill.
  rate: 1_000,
} as const;

/**
 * The rebalance and the freeze need the input to last only past their one event (7 s in, and a 16 s pause
 * once rows land): half of it, at the same pace.
 */
const SHORTER = { ...SIMULATION, duration: '15m', events: 30_000 } as const;

/** The totals an engine process logged when it stopped gracefully (undefined if it did not). */
function stoppedTotals(engine: EngineProcess): { consumed: number } | undefined {
  const line = readFileSync(engine.logFile, 'utf8')
    .split('\n')
    .find((l) => l.includes('"msg":"engine stopped"'));
  return line ? (JSON.parse(line) as { totals: { consumed: number } }).totals : undefined;
}

async function rowsWritten(run: EngineRun): Promise<number> {
  const [row] = await query<{ n: string }>(
    run.clickhouse,
    `SELECT count() AS n FROM ${run.db}.transport_atomic`,
  );
  return Number(row?.n ?? 0);
}

/** district_minute equals the simulator's truth, and incident_impact a brute-force join of the same input. */
async function expectExact(run: EngineRun, published: Published): Promise<void> {
  expect(Object.fromEntries(await districtMinute(run))).toEqual(
    Object.fromEntries(truthDistrictMinute(published.truth)),
  );
  expect(Object.fromEntries(await actualIncidentImpact(run))).toEqual(
    Object.fromEntries(expectedIncidentImpact(published)),
  );
}

describe('engine: exactly once across crashes and rebalances', () => {
  const runs: EngineRun[] = [];
  const engines: EngineProcess[] = [];

  afterAll(async () => {
    await Promise.all(engines.map((e) => stopEngine(e, 'SIGKILL')));
    for (const run of runs) await cleanupRun(run);
  });

  it('SIGKILL three times during the run, restart each time: results are still exact', async () => {
    const run = await prepareRun('crash');
    runs.push(run);
    const publishing = publish(run, SIMULATION);
    const killedAt: number[] = [];
    for (const extraMs of [1_500, 1_000, 2_000]) {
      // The same instance id each time (static membership): the restarted engine takes the partitions back
      // at once. Each kill waits until this instance has written rows of its own (not a fixed delay: a
      // loaded machine starts the engine slower), then lets it work a little longer, so every kill
      // interrupts real work.
      const engine = startEngine(run, ['--instance-id', 'crash-engine']);
      engines.push(engine);
      const before = killedAt.at(-1) ?? 0;
      const deadline = Date.now() + 60_000;
      while ((await rowsWritten(run)) <= before && Date.now() < deadline) await sleep(250);
      await sleep(extraMs);
      await stopEngine(engine, 'SIGKILL');
      killedAt.push(await rowsWritten(run));
    }
    const published: Published = await publishing;
    const last = startEngine(run, ['--instance-id', 'crash-engine']);
    engines.push(last);
    await waitForCompletion(run, published, 240_000);

    await expectExact(run, published);
    const [dead] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.dead_letters FINAL`,
    );
    expect(Number(dead?.n)).toBe(published.truth.totals.invalid);
    // The cleaned layer may hold a replayed row twice until merged; FINAL (the views) shows each once.
    const [transport] = await query<{ n: string }>(
      run.clickhouse,
      `SELECT count() AS n FROM ${run.db}.transport`,
    );
    expect(Number(transport?.n)).toBe(published.truth.by_stream.transport.accepted);
    // The kills really interrupted work in progress: rows were being written between them, and the input
    // was not finished at the last kill.
    expect(killedAt[0]).toBeGreaterThan(0);
    expect(killedAt[1]!).toBeGreaterThan(killedAt[0]!);
    expect(killedAt[2]!).toBeGreaterThan(killedAt[1]!);
    expect(killedAt[2]!).toBeLessThan(published.truth.by_stream.transport.accepted);
    await stopEngine(last);
  });

  it('two instances share the partitions; one stops half-way and the other takes over: results are exact', async () => {
    const run = await prepareRun('rebalance');
    runs.push(run);
    const publishing = publish(run, { ...SHORTER, seed: 12 });
    const first = startEngine(run, ['--instance-id', 'first']);
    const second = startEngine(run, ['--instance-id', 'second']);
    engines.push(first, second);
    await sleep(7_000);
    await stopEngine(second, 'SIGTERM');
    const published = await publishing;
    await waitForCompletion(run, published, 240_000);

    await expectExact(run, published);
    // The stopped instance really worked on its share before it left.
    expect(stoppedTotals(second)?.consumed ?? 0).toBeGreaterThan(0);
    await stopEngine(first);
    expect(stoppedTotals(first)?.consumed ?? 0).toBeGreaterThan(0);
  });

  // The first case runs by default. It failed in 1 of 5 runs once (the engine idle with all partitions and
  // the totals short), explained since: after the freeze the engine reads a backlog, and an idle partition's
  // watermark was moved on a stale end offset (see starvedPartition.test.ts); it passed 3 runs of 3 after that
  // fix. The second case sets the lost-assignment limit to 0 ms, so the engine replaces its consumer when the
  // lost revocation arrives, unless the same consumer is assigned again within one poll, which happened in
  // about half of the runs: it asserts exact results and that one of the two paths ran, and says which. It
  // runs with CITY_OPS_FREEZE_TESTS=1.
  it.each([
    { name: 'the consumer takes its partitions back', limitMs: undefined, replaced: false },
    ...(process.env['CITY_OPS_FREEZE_TESTS'] === '1'
      ? [{ name: 'a replacement consumer may take them (limit 0 ms)', limitMs: 0, replaced: true }]
      : []),
  ])(
    'the engine freezes past its group session (SIGSTOP 16 s) and continues: $name, results are exact',
    async ({ limitMs, replaced }) => {
      const run = await prepareRun(replaced ? 'freezerepl' : 'freeze');
      runs.push(run);
      const publishing = publish(run, { ...SHORTER, seed: replaced ? 14 : 13 });
      const engine = startEngine(run, [
        '--instance-id',
        run.groupId,
        ...(limitMs === undefined ? [] : ['--lost-assignment-limit-ms', String(limitMs)]),
      ]);
      engines.push(engine);
      // Mid-run, once it has written rows: a stop-the-world pause (a VM frozen, a debugger, swapping) longer
      // than session.timeout.ms (10 s), so the coordinator drops the member and its assignment is lost.
      await waitUntil(
        async () => (await rowsWritten(run)) > 0,
        60_000,
        async () => `the engine wrote no transport row within 60 s\n${engineLogTails(run)}`,
      );
      engine.child.kill('SIGSTOP');
      await sleep(16_000);
      engine.child.kill('SIGCONT');
      const published = await publishing;
      await waitForCompletion(run, published, 240_000);

      await expectExact(run, published);
      // The pause did what it was meant to: librdkafka flagged the revocation as a lost assignment, and the
      // same process (no restart) was assigned partitions again afterwards, by the same consumer or a new one.
      const lines = readFileSync(engine.logFile, 'utf8').split('\n');
      const lostAt = lines.findIndex(
        (l) => l.includes('"msg":"partitions revoked"') && l.includes('"lost":true'),
      );
      expect(lostAt, 'no lost revocation in the log').toBeGreaterThanOrEqual(0);
      const after = lines.slice(lostAt);
      expect(after.some((l) => l.includes('"msg":"partitions assigned"'))).toBe(true);
      const replacedNow = after.some((l) => l.includes('replacing the Kafka consumer'));
      if (replaced) {
        // Either path, but one of them: replaced, or assigned again before the next poll could replace it.
        console.log(`consumer replaced after the freeze: ${replacedNow}`);
        if (!replacedNow) {
          const timeOf = (line: string | undefined) => Date.parse(JSON.parse(line ?? '{}').time);
          const reassigned = after.find((l) => l.includes('"msg":"partitions assigned"'));
          expect(
            timeOf(reassigned) - timeOf(after[0]),
            'not replaced, yet not reassigned at once',
          ).toBeLessThan(1_000);
        }
      } else expect(replacedNow, 'the consumer was replaced within the 30 s limit').toBe(false);
      await stopEngine(engine);
      expect(stoppedTotals(engine)?.consumed ?? 0).toBeGreaterThan(0);
    },
  );
});
