import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, loadEnvironment } from '../config/environment.ts';
import { ensureTopics } from '../connectors/kafka/client.ts';
import { allTopics } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import { ClickHouseService } from './clickhouseService.ts';
import { ensureCredentials } from './credentials.ts';
import { applyKafkaAccess, topicGrants, userGrants } from './kafkaAccess.ts';
import { KafkaService } from './kafkaService.ts';
import type { ServiceStatus, StackService } from './stackService.ts';

/**
 * The environment of a process that starts the local stack: its passwords are generated at the first start
 * (`.stack/credentials.json`, mode 0600, printed once), then read from there by every process.
 */
export function stackEnvironment(
  log: (line: string) => void,
  source: NodeJS.ProcessEnv = process.env,
): Environment {
  const env = loadEnvironment(source);
  return ensureCredentials(env.CITY_OPS_STACK_DIR, log).created ? loadEnvironment(source) : env;
}

/**
 * The local stack behind `city-ops stack up | down | status`: a ClickHouse server and a Kafka broker on
 * 127.0.0.1, started from the project's own scripts, state under `CITY_OPS_STACK_DIR` (default `.stack/`).
 */
export class LocalStack {
  readonly clickhouse: ClickHouseService;
  readonly kafka: KafkaService;

  constructor(private readonly env: Environment) {
    this.clickhouse = new ClickHouseService(env);
    this.kafka = new KafkaService(env);
  }

  get services(): readonly StackService[] {
    return [this.clickhouse, this.kafka];
  }

  status(): Promise<ServiceStatus[]> {
    return Promise.all(this.services.map((service) => service.status()));
  }

  /**
   * Starts whatever is not running yet (both services in parallel), then makes sure the topics exist.
   * A healthy service is left alone, so a second `up` returns at once.
   */
  async up(log: (line: string) => void): Promise<ServiceStatus[]> {
    ensureCredentials(this.env.CITY_OPS_STACK_DIR, log);
    if (this.kafka.outdated()) {
      log('kafka: running without authentication (started by an earlier version): restarting it');
      await this.kafka.stop();
    }
    this.clickhouse.refreshUsers(log);
    const results = await Promise.allSettled(
      this.services.map(async (service) => {
        const before = await service.status();
        if (before.healthy) {
          log(
            `${service.name}: already running${before.ours ? ` (pid ${before.pid})` : ' (not started by us)'} on ${before.listen}`,
          );
          return;
        }
        const started = Date.now();
        if (before.ours) {
          // Our process runs but did not answer (still starting, or busy: a ping gives up after 1 s; a bench
          // once found ClickHouse so after a test's teardown and started a second one on the taken port).
          while (Date.now() - started < 60_000) {
            await sleep(500);
            if ((await service.status()).healthy) {
              log(`${service.name}: answering on ${before.listen} (pid ${before.pid}) after waiting for it`);
              return;
            }
          }
          throw new CityOpsError(
            'SERVICE_UNAVAILABLE',
            `${service.name} (pid ${before.pid}) runs but has not answered on ${before.listen} for 60 s`,
            {
              hint: 'read its log under .stack/; `city-ops stack down` then `city-ops stack up` restarts it',
            },
          );
        }
        await service.start(log);
        log(
          `${service.name}: healthy on ${before.listen} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }),
    );
    // Wait for both before failing, so a failed ClickHouse start does not leave Kafka starting unobserved.
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const topics = allTopics(this.env.CITY_OPS_TOPIC_PREFIX);
    const created = await ensureTopics(this.env, topics);
    if (created.length > 0) {
      log(`kafka: created topics ${created.join(', ')} (${this.env.KAFKA_PARTITIONS} partitions each)`);
    }
    // Users and rights every time (idempotent): a stack of an earlier version has topics without ACLs.
    const stored = ensureCredentials(this.env.CITY_OPS_STACK_DIR, log).credentials;
    applyKafkaAccess(this.env, [...userGrants(stored.kafka), ...topicGrants(topics)]);
    log(`kafka: users ${Object.keys(stored.kafka).join(', ')} (SCRAM-SHA-512) and their ACLs in place`);
    // Both answered a moment ago; a 1 s probe can still miss on a busy 2-core machine (a JVM just ran).
    let statuses = await this.status();
    for (let tries = 0; tries < 20 && !statuses.every((s) => s.healthy); tries += 1) {
      await sleep(500);
      statuses = await this.status();
    }
    return statuses;
  }

  /** Stops the processes we started (Kafka first, so no client writes into a stopping ClickHouse). */
  async down(log: (line: string) => void): Promise<void> {
    for (const service of [this.kafka, this.clickhouse]) {
      const stopped = await service.stop();
      log(`${service.name}: ${stopped ? 'stopped' : 'was not running (no process of ours)'}`);
    }
  }
}
