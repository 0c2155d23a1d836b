import { STREAM_NAMES, type StreamName, streamTopic } from '../../engine/contract/topics.ts';
import type { BenchStack } from '../benchStack.ts';
import { type BenchEngine, startBenchEngine } from '../dayEngine.ts';
import type { PeerRun } from './peerRun.ts';

/** city-ops itself, as `city-ops run` with its defaults, on the bench's topics and databases. */
export function cityOpsPeer(stack: BenchStack): PeerRun {
  const db = stack.env.CLICKHOUSE_DATABASE;
  let engine: BenchEngine | undefined;
  return {
    name: 'city-ops',
    title: 'city-ops run',
    groups: () => [
      {
        groupId: `bench-day-${stack.id}`,
        topics: STREAM_NAMES.map((s) => streamTopic(s, stack.env.CITY_OPS_TOPIC_PREFIX)),
      },
    ],
    pids: () => ({
      ...(engine?.process.pid ? { engine: engine.process.pid } : {}),
      clickhouse: stack.clickhousePid,
      kafka: stack.kafkaPid,
    }),
    async prepare() {},
    async start() {
      engine = await startBenchEngine(stack.env, stack.id, { workers: '2', engineArgs: [], nodeArgs: [] });
    },
    total: () => stack.count(`SELECT sum(events) AS n FROM ${db}.district_minute`),
    async windows() {
      const rows = await (
        await stack.clickhouse.query({
          query: `SELECT stream, district, toUInt64(window_start) * 1000 AS ws, events FROM ${db}.district_minute`,
          format: 'JSONEachRow',
        })
      ).json<{ stream: StreamName; district: string; ws: string; events: string }>();
      return new Map(rows.map((r) => [`${r.stream}|${r.district}|${r.ws}`, Number(r.events)]));
    },
    async badRecords() {
      const rows = await (
        await stack.clickhouse.query({
          query: `SELECT reason, count() AS n FROM ${db}.dead_letters FINAL GROUP BY reason`,
          format: 'JSONEachRow',
        })
      ).json<{ reason: string; n: string }>();
      return { rejected: Object.fromEntries(rows.map((r) => [r.reason, Number(r.n)])) };
    },
    async stop() {
      await engine?.stop();
    },
  };
}
