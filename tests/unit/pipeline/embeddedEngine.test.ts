import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { AggregateMessage } from '../../../engine/contract/aggregates.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { EmbeddedEngine } from '../../../engine/pipeline/embeddedEngine.ts';
import { resolveEngineOptions } from '../../../engine/pipeline/engineOptions.ts';

describe('EmbeddedEngine (the quick start without Kafka and ClickHouse; real worker threads)', () => {
  let engine: EmbeddedEngine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  it('accepts, dead-letters and windows what it is given, and closes the last windows once the input stops', async () => {
    const messages: AggregateMessage[] = [];
    engine = new EmbeddedEngine(
      resolveEngineOptions({ workers: 2, flushIntervalMs: 100, idleTimeoutMs: 300, metricsPort: -1 }),
      createLogger('embedded-test', 'silent'),
      (m) => messages.push(m),
    );
    const t0 = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
    for (let i = 0; i < 600; i++) {
      const vehicle = `bus-${i % 40}`;
      const record = { id: `t-${i}`, ts: t0 + i * 500, vehicle, mode: 'bus', lat: 22.54, lon: 114.05 };
      engine.publish('transport', vehicle, JSON.stringify(record), record.ts);
    }
    engine.publish('transport', 'bad', '{not json', t0);
    engine.start();
    const deadline = Date.now() + 20_000;
    const events = () => engine!.windows().reduce((sum, w) => sum + w.events, 0);
    while (events() < 600 && Date.now() < deadline) await sleep(100);
    expect(engine.totals).toEqual({ accepted: 600, deadLettered: 1 });
    // 600 records over 5 minutes: every final window of every partition, the last ones closed by the
    // idle policy once nothing more came.
    expect(events()).toBe(600);
    expect(messages.some((m) => m.kind === 'district_window' && m.final)).toBe(true);
  });
});
