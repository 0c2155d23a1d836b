import { loadEnvironment } from '../../config/environment.ts';
import { createLogger } from '../../observability/logger.ts';
import { EngineOptionsSchema, resolveEngineOptions } from '../../pipeline/engineOptions.ts';
import { engineTopology } from '../../pipeline/engineTopology.ts';
import { StreamEngine } from '../../pipeline/streamEngine.ts';
import type { Command } from '../main.ts';
import { describeFlags, parseOptionFlags } from '../optionFlags.ts';

export const command: Command = {
  summary: 'The engine: consume the exchange streams, window and join them, write ClickHouse, exactly once.',
  usage: [
    'city-ops run [options]',
    'city-ops run --describe     print the processing topology and exit',
    '',
    'Options:',
    describeFlags(EngineOptionsSchema),
    '',
    'Environment: KAFKA_BROKERS, CLICKHOUSE_URL, CLICKHOUSE_USER/PASSWORD, CITY_OPS_TOPIC_PREFIX (see README).',
    'Run `city-ops migrate` first. Stop with SIGINT/SIGTERM: it writes and commits what it holds, then exits.',
  ].join('\n'),
  async run(argv) {
    const { options: flags, extra } = parseOptionFlags(EngineOptionsSchema, argv, {
      describe: { type: 'boolean' },
    });
    const options = resolveEngineOptions(flags);
    const env = loadEnvironment();
    if (extra['describe']) {
      const db = { city: env.CLICKHOUSE_DATABASE, restricted: env.CLICKHOUSE_RESTRICTED_DATABASE };
      process.stdout.write(`${engineTopology(options, db, env.CITY_OPS_TOPIC_PREFIX).describe()}\n`);
      return 0;
    }
    const logger = createLogger('city-ops-engine');
    const engine = new StreamEngine(env, options, logger);
    await engine.start();
    process.stderr.write(
      `city-ops run: consuming; metrics and health on http://127.0.0.1:${engine.metricsPort ?? '-'}/metrics and /health\n`,
    );
    const stopped = new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'stopping');
        engine.stop().then(
          () => resolve(0),
          () => resolve(1),
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    const failed = engine.failed.then(async () => {
      await engine.stop().catch(() => {});
      return 1;
    });
    return Promise.race([stopped, failed]);
  },
};
