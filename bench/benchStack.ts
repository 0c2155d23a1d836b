import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type Environment, loadEnvironment } from '../engine/config/environment.ts';
import {
  type ClickHouseClient,
  createClickHouse,
  selectRows,
} from '../engine/connectors/clickhouse/client.ts';
import { migrate } from '../engine/connectors/clickhouse/migrate.ts';
import { createKafka, ensureTopics } from '../engine/connectors/kafka/client.ts';
import { allTopics } from '../engine/contract/topics.ts';
import { LocalStack, stackEnvironment } from '../engine/stack/localStack.ts';

/** A benchmark's own topics and databases on the local stack, and what it measures the stack with. */
export interface BenchStack {
  /** This run's id, in its topic and database names (for other names of the run, e.g. a group id). */
  readonly id: string;
  /** The environment with this run's topic prefix and databases. */
  readonly env: Environment;
  readonly clickhouse: ClickHouseClient;
  /** The `n` of a one-row query (`SELECT ... AS n`). */
  count(query: string): Promise<number>;
  readonly kafkaPid: number;
  readonly clickhousePid: number;
  /** Drops this run's databases and topics, and closes the client. */
  drop(): Promise<void>;
}

/**
 * Starts the local stack if needed and gives the run topics (`partitions` each) and migrated databases of
 * its own, named `<name>-<id>.` / `<name>_<id>`, so runs never share state.
 */
export async function openBenchStack(
  name: string,
  partitions: number,
  say: (line: string) => void,
): Promise<BenchStack> {
  const stackEnv = stackEnvironment(say);
  await new LocalStack(stackEnv).up(say);
  const id = Date.now().toString(36);
  const env = loadEnvironment({
    ...process.env,
    CITY_OPS_TOPIC_PREFIX: `${name}-${id}.`,
    CLICKHOUSE_DATABASE: `${name.replaceAll('-', '_')}_${id}`,
    CLICKHOUSE_RESTRICTED_DATABASE: `${name.replaceAll('-', '_')}_${id}_restricted`,
  });
  const topics = allTopics(env.CITY_OPS_TOPIC_PREFIX);
  await ensureTopics(env, topics, partitions);
  const clickhouse = createClickHouse(env);
  await migrate(clickhouse, env);
  const pid = (service: string) =>
    Number(readFileSync(join(stackEnv.CITY_OPS_STACK_DIR, service, `${service}.pid`), 'utf8').trim());
  return {
    id,
    env,
    clickhouse,
    count: async (query) => Number((await selectRows<{ n: string }>(clickhouse, query))[0]?.n ?? 0),
    // Read when asked: bench:peers restarts a ClickHouse that its Kafka engine peer crashed.
    get kafkaPid() {
      return pid('kafka');
    },
    get clickhousePid() {
      return pid('clickhouse');
    },
    async drop() {
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${env.CLICKHOUSE_DATABASE}` });
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${env.CLICKHOUSE_RESTRICTED_DATABASE}` });
      await clickhouse.close();
      const admin = createKafka(env, 'bench-cleanup').admin();
      await admin.connect();
      await admin.deleteTopics({ topics });
      await admin.disconnect();
    },
  };
}

/** CPU seconds (user + system, all threads) and resident memory of a process, from /proc (Linux). */
export function processUsage(pid: number): { cpuSeconds: number; peakRssMb: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

/** The machine a result was measured on, for the result files of bench:day and bench:floor. */
export function machineFacts(): { cpu: string | undefined; logicalCpus: number; memoryGiB: number } {
  return { cpu: cpus()[0]?.model, logicalCpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
}
