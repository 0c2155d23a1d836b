import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '../../engine/connectors/clickhouse/client.ts';
import { STREAM_NAMES, type StreamName, streamTopic } from '../../engine/contract/topics.ts';
import { LocalStack, stackEnvironment } from '../../engine/stack/localStack.ts';
import type { BenchStack } from '../benchStack.ts';
import { ALL_DISTRICTS } from './exactness.ts';
import type { PeerRun } from './peerRun.ts';

/**
 * The zero-code peer: ClickHouse's own Kafka table engine, one Kafka table per stream, materialized views
 * into a MergeTree landing table and a per-stream, per-minute count (SummingMergeTree). Per minute only,
 * not per district: `pointInPolygon` over the districts' 10 000 vertices, written into the views, cost
 * ClickHouse 18.16 about 100 CPU-seconds for 20 000 events (the views' statement is analysed again for
 * each block), and 38% of the events landed in another district than the truth's (docs/benchmarks.md). No de-duplication
 * and no contract: what parses lands. ClickHouse 18.16 has no `kafka_skip_broken_messages`; the server profile
 * its Kafka tables read with (the stack's `kafka_tables`) allows rows that do not parse to be skipped.
 */
export function clickhouseKafkaPeer(
  stack: BenchStack,
  stackDir: string,
  input: { name: string; title: string; topicPrefix: string },
): PeerRun {
  const db = `${stack.env.CLICKHOUSE_DATABASE}_${input.name.replaceAll('-', '_')}`;
  const ch = stack.clickhouse;
  return {
    name: input.name,
    title: input.title,
    pids: () => ({ clickhouse: stack.clickhousePid, kafka: stack.kafkaPid }),
    // A group per table: three tables in one group, each with other topics, rebalanced one another and
    // read the same messages again (1.7 M rows landed for 1.01 M messages).
    groups: () =>
      STREAM_NAMES.map((stream) => ({
        groupId: `${db}_${stream}`,
        topics: [streamTopic(stream, input.topicPrefix)],
      })),
    async prepare() {
      const config = readFileSync(join(stackDir, 'clickhouse', 'config.xml'), 'utf8');
      const broker = readFileSync(join(stackDir, 'kafka', 'server.properties'), 'utf8');
      if (!config.includes('<sasl_mechanisms>PLAIN') || !broker.includes('user_engine='))
        throw new Error(
          "the running stack has no settings for ClickHouse's Kafka tables (started by an older city-ops): run `city-ops stack down` and `city-ops stack up`, then the bench again",
        );
    },
    /** Consuming starts with the first view on a Kafka table, from the start of the topics. */
    async start() {
      await command(ch, `CREATE DATABASE IF NOT EXISTS ${db}`);
      await command(
        ch,
        `CREATE TABLE ${db}.landed (stream String, id String, ts UInt64, lat Float64, lon Float64) ENGINE = MergeTree ORDER BY (stream, ts)`,
      );
      await command(
        ch,
        `CREATE TABLE ${db}.stream_minute (stream String, minute DateTime, events UInt64) ENGINE = SummingMergeTree ORDER BY (stream, minute)`,
      );
      const minute = 'toStartOfMinute(toDateTime(intDiv(ts, 1000)))';
      for (const stream of STREAM_NAMES) {
        const queue = `${db}.${stream}_queue`;
        await command(
          ch,
          `CREATE TABLE ${queue} (id String, ts UInt64, lat Float64, lon Float64) ENGINE = Kafka SETTINGS kafka_broker_list = '127.0.0.1:${stack.env.STACK_KAFKA_PORT}', kafka_topic_list = '${streamTopic(stream, input.topicPrefix)}', kafka_group_name = '${db}_${stream}', kafka_format = 'JSONEachRow', kafka_num_consumers = 1`,
        );
        // 18.16 runs the views of a Kafka table, not the views of their target tables: one view lands
        // the rows, another counts them.
        await command(
          ch,
          `CREATE MATERIALIZED VIEW ${db}.${stream}_landed_mv TO ${db}.landed AS SELECT '${stream}' AS stream, id, ts, lat, lon FROM ${queue}`,
        );
        await command(
          ch,
          `CREATE MATERIALIZED VIEW ${db}.${stream}_count_mv TO ${db}.stream_minute AS SELECT '${stream}' AS stream, ${minute} AS minute, count() AS events FROM ${queue} GROUP BY stream, minute`,
        );
      }
    },
    /**
     * Every landed row counted: in a run of 20 000 events the consumers had committed everything and the
     * count stood still for 10 s while one stream's rows (629) were landed and not yet counted.
     */
    async settled() {
      const [landed, counted] = await Promise.all([
        stack.count(`SELECT count() AS n FROM ${db}.landed`),
        stack.count(`SELECT sum(events) AS n FROM ${db}.stream_minute`),
      ]);
      return landed === counted;
    },
    async total() {
      return stack.count(`SELECT sum(events) AS n FROM ${db}.stream_minute`);
    },
    async windows() {
      const rows = await (
        await ch.query({
          query: `SELECT stream, toUInt64(minute) * 1000 AS ws, sum(events) AS events FROM ${db}.stream_minute GROUP BY stream, minute`,
          format: 'JSONEachRow',
        })
      ).json<{ stream: StreamName; ws: string; events: string }>();
      return new Map(rows.map((r) => [`${r.stream}|${ALL_DISTRICTS}|${r.ws}`, Number(r.events)]));
    },
    async badRecords() {
      return { rejected: null, landed: await stack.count(`SELECT count() AS n FROM ${db}.landed`) };
    },
    async stop() {
      if (!(await alive(ch))) await restartWithoutQueues(stackDir, db);
      // Dropping the Kafka tables first stops their consumers.
      for (const stream of STREAM_NAMES) {
        await command(ch, `DROP TABLE IF EXISTS ${db}.${stream}_landed_mv`);
        await command(ch, `DROP TABLE IF EXISTS ${db}.${stream}_count_mv`);
        await command(ch, `DROP TABLE IF EXISTS ${db}.${stream}_queue`);
      }
    },
    async drop() {
      await command(ch, `DROP DATABASE IF EXISTS ${db}`);
    },
  };
}

async function alive(ch: ClickHouseClient): Promise<boolean> {
  try {
    return (await ch.ping()).success;
  } catch {
    return false;
  }
}

/**
 * After the server crashed (18.16's Kafka engine dies on a message with a null value): removes this peer's
 * Kafka tables and their views from the server's metadata, or it would read the same message and crash
 * again at its next start, then starts the stack's ClickHouse again.
 */
async function restartWithoutQueues(stackDir: string, db: string): Promise<void> {
  const metadata = join(stackDir, 'clickhouse', 'data', 'metadata', db);
  for (const file of readdirSync(metadata)) if (/_(queue|mv)\.sql$/.test(file)) rmSync(join(metadata, file));
  await new LocalStack(stackEnvironment(() => {})).up(() => {});
}

function command(ch: ClickHouseClient, query: string, settings: Record<string, string> = {}) {
  return ch.command({ query, clickhouse_settings: settings });
}
