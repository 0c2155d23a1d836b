import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from '../engine/config/environment.ts';
import type { ClickHouseClient } from '../engine/connectors/clickhouse/client.ts';
import { createKafka } from '../engine/connectors/kafka/client.ts';
import { streamTopic } from '../engine/contract/topics.ts';
import { publishSimulation } from '../engine/simulator/publishSimulation.ts';
import { openBenchStack } from './benchStack.ts';
import { type BenchEngineOptions, startBenchEngine } from './dayEngine.ts';
import { type LatencyDiagnostics, percentile, watchDiagnostics } from './latencyDiagnostics.ts';

export interface LatencyFigures {
  readonly what: string;
  readonly liveRateEventsPerSecond: number;
  readonly probes: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number | null;
  readonly during: LatencyDiagnostics;
}

/**
 * Event-to-ClickHouse latency under live load: the simulator publishes at `rate` events/s while a probe
 * record, timestamped when sent, goes out every 100 ms; each probe counts from its send until it is
 * readable in city.transport_atomic (polled every 50 ms).
 */
export async function measureLatency(
  env: Environment,
  clickhouse: ClickHouseClient,
  run: { id: string; seed: number; rate: number; seconds: number },
  processes: Parameters<typeof watchDiagnostics>[2],
): Promise<LatencyFigures> {
  const db = env.CLICKHOUSE_DATABASE;
  const diagnostics = await watchDiagnostics(clickhouse, db, processes);
  const live = new AbortController();
  const livePublishing = publishSimulation(
    { seed: run.seed, live: true, rate: run.rate },
    { env, signal: live.signal },
  );
  const producer = createKafka(env, 'bench-probe').producer({ 'linger.ms': 0 });
  await producer.connect();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const probeStart = Date.now();
  const probeEnd = probeStart + run.seconds * 1000;
  const poller = (async () => {
    // Until every probe is seen, or 15 s after the last one was sent.
    while (Date.now() < probeEnd + 15_000) {
      const polledAt = Date.now();
      const seen = await (
        await clickhouse.query({
          // Bounded by event time (the table's sort key leads with it), so each poll reads only the
          // last minutes, not the whole replayed day.
          query: `SELECT id FROM ${db}.transport_atomic WHERE ts >= toDateTime(${Math.floor(probeStart / 1000) - 60}) AND vehicle = 'bench-probe'`,
          format: 'JSONEachRow',
        })
      ).json<{ id: string }>();
      const now = Date.now();
      diagnostics.pollTook(now - polledAt);
      for (const { id: probe } of seen) {
        const at = sentAt.get(probe);
        if (at !== undefined) {
          latencies.push(now - at);
          sentAt.delete(probe);
        }
      }
      if (Date.now() > probeEnd && sentAt.size === 0) break;
      await sleep(50);
    }
  })();
  for (let n = 0; Date.now() < probeEnd; n++) {
    const probe = `probe-${run.id}-${n}`;
    const ts = Date.now();
    sentAt.set(probe, ts);
    await producer.send({
      topic: streamTopic('transport', env.CITY_OPS_TOPIC_PREFIX),
      messages: [
        {
          key: 'bench-probe',
          value: JSON.stringify({
            id: probe,
            ts,
            vehicle: 'bench-probe',
            mode: 'other',
            lat: 22.54,
            lon: 114.05,
          }),
        },
      ],
    });
    await sleep(100);
  }
  await poller;
  live.abort();
  await livePublishing.catch(() => {});
  await producer.disconnect();
  const during = await diagnostics.finish();
  latencies.sort((a, b) => a - b);
  return {
    what: 'a probe record timestamped when sent, until it is readable in city.transport_atomic (polled every 50 ms)',
    liveRateEventsPerSecond: Math.round(run.rate),
    probes: latencies.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? null,
    during,
  };
}

/**
 * The latency on an engine started fresh on an empty store (topics and databases of its own), before the
 * day is replayed: the same probes as after the day, so the two show whether the cost grows with history.
 */
export async function freshLatency(
  run: { seed: number; rate: number; seconds: number; partitions: number; engine: BenchEngineOptions },
  say: (line: string) => void,
): Promise<LatencyFigures> {
  const stack = await openBenchStack('bench-day-fresh', run.partitions, say);
  const engine = await startBenchEngine(stack.env, stack.id, run.engine);
  say(`latency on a fresh start: live simulator at ${Math.round(run.rate)} events/s for ${run.seconds} s`);
  const figures = await measureLatency(
    stack.env,
    stack.clickhouse,
    { id: stack.id, seed: run.seed, rate: run.rate, seconds: run.seconds },
    {
      engineMetricsUrl: engine.metricsUrl(),
      enginePid: engine.process.pid,
      clickhousePid: stack.clickhousePid,
    },
  );
  say(
    `latency on a fresh start: p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (${figures.probes} probes); during it ${JSON.stringify(figures.during)}`,
  );
  await engine.stop();
  await stack.drop();
  return figures;
}
