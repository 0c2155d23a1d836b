import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from '../config/environment.ts';
import { ensureTopics } from '../connectors/kafka/client.ts';
import { allTopics } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import { ClickHouseService } from './clickhouseService.ts';
import { KafkaService } from './kafkaService.ts';
import type { ServiceStatus, StackService } from './stackService.ts';

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
    const created = await ensureTopics(this.env, allTopics(this.env.CITY_OPS_TOPIC_PREFIX));
    if (created.length > 0) {
      log(`kafka: created topics ${created.join(', ')} (${this.env.KAFKA_PARTITIONS} partitions each)`);
    }
    return this.status();
  }

  /** Stops the processes we started (Kafka first, so no client writes into a stopping ClickHouse). */
  async down(log: (line: string) => void): Promise<void> {
    for (const service of [this.kafka, this.clickhouse]) {
      const stopped = await service.stop();
      log(`${service.name}: ${stopped ? 'stopped' : 'was not running (no process of ours)'}`);
    }
  }
}
