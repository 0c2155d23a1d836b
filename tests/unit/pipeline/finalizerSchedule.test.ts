import { setImmediate as nextTurn } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEngineMetrics } from '../../../engine/observability/metrics.ts';
import type { Finalizer, FinalizerTick } from '../../../engine/pipeline/finalizer.ts';
import { FinalizerSchedule } from '../../../engine/pipeline/finalizerSchedule.ts';

const HOUR = 3_600_000;

/**
 * A finalizer that moves `stepMs` of event time per round towards `targetMs`, or not at all. The real
 * finalizer's rounds are tested against ClickHouse (finalizerRanges.test.ts); this is only when rounds run.
 */
function scripted(targetMs: number, stepMs: number) {
  let through = 0;
  let stopRequested = false;
  const finalizer = {
    rounds: 0,
    closed: false,
    async tick(): Promise<FinalizerTick> {
      finalizer.rounds++;
      await nextTurn();
      through = Math.min(targetMs, through + stepMs);
      const behind = targetMs - through;
      return {
        watermark: targetMs,
        pulseThrough: through,
        impactThrough: through,
        behindMs: { district_pulse: behind, incident_impact: behind },
      };
    },
    requestStop() {
      stopRequested = true;
    },
    async close() {
      finalizer.closed = stopRequested;
    },
  };
  return finalizer;
}

async function behindGauge(metrics: ReturnType<typeof createEngineMetrics>): Promise<number[]> {
  const { values } = await metrics.finalizerBehind.get();
  return values.map((v) => v.value);
}

/** Lets every round that can run without the timer run (each round awaits one turn of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await nextTurn();
}

const silent = pino({ level: 'silent' });

// Only the schedule's interval is faked: a burst of rounds runs on real turns of the event loop.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FinalizerSchedule', () => {
  it('runs rounds back to back while the joined layer is behind and moving, then waits for the timer', async () => {
    const finalizer = scripted(10 * HOUR, HOUR);
    const metrics = createEngineMetrics();
    const schedule = new FinalizerSchedule(finalizer as unknown as Finalizer, 2_000, metrics, silent);
    await settle();
    expect(finalizer.rounds).toBe(0);
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(10);
    expect(await behindGauge(metrics)).toEqual([0, 0]);
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(11);
    await schedule.stop();
    expect(finalizer.closed).toBe(true);
  });

  it('ends a burst when a round moves nothing, and then tries one round per tick', async () => {
    const finalizer = scripted(10 * HOUR, 0);
    const metrics = createEngineMetrics();
    const schedule = new FinalizerSchedule(finalizer as unknown as Finalizer, 2_000, metrics, silent);
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(2);
    expect(await behindGauge(metrics)).toEqual([36_000, 36_000]);
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(3);
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(4);
    await schedule.stop();
  });

  it('runs one round per tick while the engine catches up on its input', async () => {
    const finalizer = scripted(10 * HOUR, HOUR);
    let catchingUp = true;
    const schedule = new FinalizerSchedule(
      finalizer as unknown as Finalizer,
      2_000,
      createEngineMetrics(),
      silent,
      () => catchingUp,
    );
    vi.advanceTimersByTime(2_000);
    await settle();
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(2);
    catchingUp = false;
    vi.advanceTimersByTime(2_000);
    await settle();
    expect(finalizer.rounds).toBe(10);
    await schedule.stop();
  });

  it('halt ends a burst after the round under way, and no timer starts another', async () => {
    const finalizer = scripted(1_000 * HOUR, HOUR);
    const schedule = new FinalizerSchedule(
      finalizer as unknown as Finalizer,
      2_000,
      createEngineMetrics(),
      silent,
    );
    vi.advanceTimersByTime(2_000);
    await nextTurn();
    await nextTurn();
    schedule.halt();
    const rounds = finalizer.rounds;
    await schedule.stop();
    vi.advanceTimersByTime(10_000);
    await settle();
    expect(rounds).toBeGreaterThan(0);
    expect(finalizer.rounds).toBeLessThanOrEqual(rounds + 1);
    expect(finalizer.closed).toBe(true);
  });
});
