import { loadEnvironment } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { migrate } from '../../connectors/clickhouse/migrate.ts';
import { ensureTopics } from '../../connectors/kafka/client.ts';
import { allTopics } from '../../contract/topics.ts';
import type { Command } from '../main.ts';

export const command: Command = {
  summary: 'Create or upgrade the ClickHouse schema (versioned migrations) and the Kafka topics.',
  usage: 'city-ops migrate          (uses CLICKHOUSE_* and KAFKA_* from the environment)',
  async run() {
    const env = loadEnvironment();
    const log = (line: string) => process.stdout.write(`${line}\n`);
    const client = createClickHouse(env);
    try {
      const applied = await migrate(client, env, log);
      log(
        applied.length > 0
          ? `migrate: ${applied.length} migration(s) applied`
          : 'migrate: schema is up to date',
      );
    } finally {
      await client.close();
    }
    const created = await ensureTopics(env, allTopics(env.CITY_OPS_TOPIC_PREFIX));
    if (created.length > 0) log(`migrate: created topics ${created.join(', ')}`);
    return 0;
  },
};
