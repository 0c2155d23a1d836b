import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { BaseFeedApplier } from '../../base/feedApplier.ts';
import { loadBase } from '../../base/loadBase.ts';
import { compareCopy, storeState } from '../../base/reconcile.ts';
import { loadEnvironment } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { sqlIdentifier } from '../../connectors/clickhouse/sqlLiteral.ts';
import { createKafka } from '../../connectors/kafka/client.ts';
import { KafkaSink } from '../../connectors/kafka/sink.ts';
import { aggregateKey } from '../../contract/aggregates.ts';
import { BASE_FEED_NAMES, BASE_FEEDS, type BaseFeed } from '../../contract/baseChanges.ts';
import { MAX_EVENT_TIME, MIN_EVENT_TIME } from '../../contract/exchangeRecords.ts';
import { internalTopic } from '../../contract/topics.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops base generate [--scale <0..1>] [--seed <n>] [--replace]
city-ops base apply [--port <n>]
city-ops base reconcile --library <buildings|dwellings|legal_persons|population> --as-of <time> [--dry-run] [--force] FILE

The base libraries (docs/base.md): people, legal persons, buildings and dwellings, versioned in ClickHouse;
names, ID numbers and phones in the restricted database only.

  generate          generate them deterministically and load them: at --scale 1 (the default) the seed's
                    830,000 buildings, 13.51 M dwellings, 18.44 M people and 2.88 M legal persons; prints
                    progress, then the time, the bytes on disk per table and the peak memory
    --scale S       a fraction of that, e.g. 0.01 for tests
    --seed N        another city (default 1, the simulator's)
    --replace       empty the tables first (refused without it when they hold versions)
  apply             apply the change feeds (city.base.buildings, .dwellings, .legal_persons, .population)
                    to the versioned tables until stopped; GET /health and /metrics on --port (default
                    9480, 127.0.0.1)
  reconcile         compare a batch copy (JSON Lines, one record per line as the feed's upsert carries it,
                    without op and valid_from) with the library as it stood at --as-of; print what the store
                    lacks, what the copy lacks and what differs (ids and field names, no values), then send
                    the changes that make them equal through the feed (source batch), unless --dry-run;
                    a copy with an invalid line sends nothing (exit 1) unless --force, and a record on a
                    bad line is never deleted`;

function parseBaseArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        scale: { type: 'string' },
        seed: { type: 'string' },
        replace: { type: 'boolean' },
        port: { type: 'string', default: '9480' },
        library: { type: 'string' },
        'as-of': { type: 'string' },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
      },
      allowPositionals: true,
    });
  } catch (cause) {
    throw new CityOpsError('CLI_USAGE', (cause as Error).message, { hint: USAGE });
  }
}

export const command: Command = {
  summary:
    'Generate and load the base libraries (people, legal persons, buildings, dwellings), and apply their change feeds.',
  usage: USAGE,
  async run(argv) {
    const { positionals, values } = parseBaseArgs(argv);
    if (positionals.join(' ') === 'apply') return applyFeeds(Number(values.port));
    if (positionals[0] === 'reconcile' && positionals.length === 2)
      return reconcileCopy(
        positionals[1]!,
        values.library,
        values['as-of'],
        values['dry-run'] ?? false,
        values.force ?? false,
      );
    if (positionals.join(' ') !== 'generate')
      throw new CityOpsError('CLI_USAGE', `unknown base action '${positionals.join(' ')}'`, { hint: USAGE });
    const scale = Number(values.scale ?? '1');
    const seed = Number(values.seed ?? '1');
    if (!(scale > 0 && scale <= 1))
      throw new CityOpsError('CLI_USAGE', `--scale must be in (0, 1], got '${values.scale}'`, {
        hint: USAGE,
      });
    if (!Number.isInteger(seed))
      throw new CityOpsError('CLI_USAGE', `--seed must be an integer, got '${values.seed}'`, { hint: USAGE });
    const env = loadEnvironment();
    const client = createClickHouse(env, 'engine', { requestTimeoutMs: 300_000 });
    const db = {
      city: sqlIdentifier(env.CLICKHOUSE_DATABASE),
      restricted: sqlIdentifier(env.CLICKHOUSE_RESTRICTED_DATABASE),
    };
    const shown = new Map<string, number>();
    try {
      const report = await loadBase(client, db, {
        scale,
        seed,
        replace: values.replace ?? false,
        progress: (table, done, total) => {
          const tenth = Math.floor((done / total) * 10);
          if (tenth === shown.get(table)) return;
          shown.set(table, tenth);
          process.stderr.write(
            `base: ${table} ${done.toLocaleString('en')} / ${total.toLocaleString('en')}\n`,
          );
        },
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`base: generated at scale ${scale} (seed ${seed}) in ${report.seconds.toFixed(1)} s`);
      for (const [name, n] of Object.entries(report.counts)) out(`  ${name}\t${n}`);
      for (const [table, bytes] of Object.entries(report.bytesOnDisk))
        out(`  ${table}\t${(bytes / 2 ** 20).toFixed(1)} MiB on disk`);
      out(`  peak RSS\t${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
      return 0;
    } finally {
      await client.close();
    }
  },
};

/** `base apply`: the feed applier as a service, until SIGINT or SIGTERM. */
async function applyFeeds(port: number): Promise<number> {
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CityOpsError('CLI_USAGE', `--port must be a port number, got '${port}'`, { hint: USAGE });
  const env = loadEnvironment();
  const logger = createLogger('base-apply');
  const client = createClickHouse(env, 'engine', { requestTimeoutMs: 120_000 });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'city_base_' });
  // Incidents joined again are sent to the map as the finalizer sends them (docs/base.md).
  const aggregates = new KafkaSink(env, 'city-ops-base-rejoin', logger);
  const applier = new BaseFeedApplier(client, {
    db: {
      city: sqlIdentifier(env.CLICKHOUSE_DATABASE),
      restricted: sqlIdentifier(env.CLICKHOUSE_RESTRICTED_DATABASE),
    },
    topicPrefix: env.CITY_OPS_TOPIC_PREFIX,
    groupId: `${env.CITY_OPS_TOPIC_PREFIX}city-ops-base`,
    registry,
    logger,
    publish: (messages) =>
      aggregates.send(
        internalTopic('aggregates', env.CITY_OPS_TOPIC_PREFIX),
        messages.map((m) => ({ key: aggregateKey(m), value: JSON.stringify(m) })),
      ),
  });
  const server = createServer((request, response) => {
    const health = applier.health();
    if (request.url === '/health') {
      response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify(health.ok ? { status: 'ok' } : { status: 'failing', error: health.error }));
    } else if (request.url === '/metrics') {
      void registry.metrics().then((text) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(text);
      });
    } else {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: `no ${request.url}: try /health or /metrics` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await applier.start(createKafka(env, 'city-ops-base', logger));
  logger.info({ port: (server.address() as AddressInfo).port }, 'applying the base feeds');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await applier.close();
  await aggregates.close();
  server.close();
  await client.close();
  return 0;
}

/** `base reconcile`: a batch copy against the store, the differences sent through the feed. */
async function reconcileCopy(
  file: string,
  library: string | undefined,
  asOf: string | undefined,
  dryRun: boolean,
  force: boolean,
): Promise<number> {
  if (library === undefined || !(BASE_FEED_NAMES as string[]).includes(library))
    throw new CityOpsError('CLI_USAGE', `--library must be one of ${BASE_FEED_NAMES.join(', ')}`, {
      hint: USAGE,
    });
  const asOfMs = asOf === undefined ? Number.NaN : /^\d+$/.test(asOf) ? Number(asOf) : Date.parse(asOf);
  if (!Number.isFinite(asOfMs) || asOfMs < MIN_EVENT_TIME || asOfMs >= MAX_EVENT_TIME)
    throw new CityOpsError(
      'CLI_USAGE',
      `--as-of must be epoch ms or ISO-8601 with a zone, between 2000 and 2100, got '${asOf}'`,
      {
        hint: USAGE,
      },
    );
  const feed = library as BaseFeed;
  const env = loadEnvironment();
  const client = createClickHouse(env, 'engine', { requestTimeoutMs: 300_000 });
  const db = {
    city: sqlIdentifier(env.CLICKHOUSE_DATABASE),
    restricted: sqlIdentifier(env.CLICKHOUSE_RESTRICTED_DATABASE),
  };
  try {
    const store = await storeState(client, db, feed, asOfMs);
    const result = compareCopy(feed, await readFile(file, 'utf8'), file, asOfMs, store);
    const { changes, ...report } = result;
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (result.invalidLines > 0 && !force) {
      process.stderr.write(
        `base: ${result.invalidLines} invalid line(s): nothing sent; fix the copy, or pass --force to send the changes of its valid lines\n`,
      );
      return 1;
    }
    if (dryRun || changes.length === 0) return 0;
    const producer = createKafka(env, 'city-ops-base-reconcile').producer({
      kafkaJS: { acks: -1, idempotent: true },
    } as KafkaJS.ProducerConstructorConfig);
    await producer.connect();
    const topic = `${env.CITY_OPS_TOPIC_PREFIX}${BASE_FEEDS[feed].topic}`;
    for (let i = 0; i < changes.length; i += 5_000)
      await producer.send({
        topic,
        messages: changes
          .slice(i, i + 5_000)
          .map((c) => ({ key: String(c['id']), value: JSON.stringify(c) })),
      });
    await producer.disconnect();
    process.stderr.write(`base: ${changes.length} change(s) of ${result.batchId} sent to ${topic}\n`);
    return 0;
  } finally {
    await client.close();
  }
}
