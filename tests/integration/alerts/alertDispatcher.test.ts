import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ExchangeLedger } from '../../../engine/access/exchangeLedger.ts';
import { verifyLedger } from '../../../engine/access/ledgerVerify.ts';
import { AlertDispatcher } from '../../../engine/alerts/alertDispatcher.ts';
import { type AlertCloudEvent, toAlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import { createAlertMetrics } from '../../../engine/alerts/alertMetrics.ts';
import { DeliveryLog } from '../../../engine/alerts/deliveryLog.ts';
import { type LoadedAlertConfig, parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { loadCatalogue, parseCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { exchangeLedger } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import { createTable } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import {
  type AlertWorld,
  createAlertWorld,
  publishToOutbox,
  rulesFile,
  SECRETS,
  syntheticTransitions,
  waitFor,
} from './alertTestKit.ts';
import { TestReceiver } from './webhookReceivers.ts';

const logger = createLogger('alerts-test', process.env['LOG_LEVEL'] ?? 'warn');

describe('AlertDispatcher with real receivers, Kafka and ClickHouse', () => {
  let world: AlertWorld;
  // Each test has its own outbox, topics and database, so no test reads another's alerts.
  beforeEach(async () => {
    world = await createAlertWorld();
  });
  afterEach(async () => {
    await world?.close();
  });

  function dispatcher(config: LoadedAlertConfig, group: string, log?: DeliveryLog) {
    return new AlertDispatcher({
      kafka: world.kafka,
      topics: world.topics,
      groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}${group}`,
      config: () => config,
      logger,
      metrics: createAlertMetrics(undefined, false),
      ...(log ? { log } : {}),
    });
  }

  it('delivers every alert despite a 500-then-recover, a timing-out and a down-then-up receiver; none waits for another', async () => {
    const ok = new TestReceiver('ok', [SECRETS[0]]);
    // 500 twice per alert event, the second time asking for Retry-After: 1 s, then 200.
    const flaky = new TestReceiver('flaky', [SECRETS[1]], (_id, attempt) =>
      attempt === 1
        ? { status: 500 }
        : attempt === 2
          ? { status: 503, headers: { 'retry-after': '1' } }
          : { status: 200 },
    );
    // Answers the first request of each event after 1.5 s, beyond the endpoint's 500 ms timeout.
    const slow = new TestReceiver('slow', [SECRETS[2]], (_id, attempt) => ({
      status: 200,
      delayMs: attempt === 1 ? 1_500 : 0,
    }));
    const down = new TestReceiver('down', [SECRETS[3]]);
    for (const r of [ok, flaky, slow, down]) await r.start();
    await down.stop(); // its port is closed: connection refused until it comes back
    const config = parseAlertConfig(
      rulesFile([
        { id: 'ok', url: ok.url, secrets: [SECRETS[0]] },
        { id: 'flaky', url: flaky.url, secrets: [SECRETS[1]] },
        {
          id: 'slow',
          url: slow.url,
          secrets: [SECRETS[2]],
          extra:
            '        timeout: 500ms\n        retry: { max_attempts: 10, base_delay: 100ms, max_delay: 1s }\n',
        },
        { id: 'down', url: down.url, secrets: [SECRETS[3]] },
      ]),
      'receivers.yaml',
      {},
    );
    const transitions = syntheticTransitions(20);
    const ids = await publishToOutbox(world.kafka, world.topics.alerts, transitions);
    expect(ids).toHaveLength(30);
    const log = new DeliveryLog(world.clickhouse, world.database, logger, 200);
    const service = dispatcher(config, 'dispatcher-a', log);
    await service.start();
    const all = (r: TestReceiver) => ids.every((id) => r.delivered().has(id));
    await waitFor('the healthy receiver to get all 30 events', () => all(ok), 60_000);
    const okDoneAt = Math.max(...ok.requests.map((r) => r.at));
    expect(down.requests).toHaveLength(0);
    // The dead endpoint has not delayed the healthy one: it comes back only now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const downBackAt = Date.now();
    await down.start();
    await waitFor('every receiver to get every event', () => [flaky, slow, down].every(all), 90_000);
    await waitFor('every delivery to settle', () => service.summary().pending_deliveries === 0, 30_000);
    await waitFor('the receivers to finish answering', () =>
      [ok, flaky, slow, down].every((r) => r.answering === 0),
    );
    const status = service.endpointStatus();
    await service.stop();
    await log.close();

    expect(okDoneAt).toBeLessThan(downBackAt);
    for (const receiver of [ok, flaky, slow, down]) {
      // Signatures all verified (no 401), every event arrived, every request carried the event id.
      expect(receiver.requests.filter((r) => r.status === 401)).toEqual([]);
      expect(new Set(receiver.requests.map((r) => r.id))).toEqual(new Set(ids));
      // firing before resolved, per alert
      const firstAccepted = new Map<string, number>();
      receiver.requests.forEach((r, i) => {
        if (r.verdict === 'accepted' && !firstAccepted.has(r.id)) firstAccepted.set(r.id, i);
      });
      for (const id of ids.filter((i) => i.endsWith('.resolved'))) {
        expect(firstAccepted.get(id)).toBeGreaterThan(firstAccepted.get(id.replace('.resolved', '.firing'))!);
      }
    }
    // Duplicates only where a 2xx was lost: the slow receiver's first answers came after the timeout.
    for (const receiver of [ok, flaky, slow, down]) {
      for (const [id, count] of receiver.delivered()) {
        const lost = receiver.requests.filter((r) => r.id === id && r.lost).length;
        expect(count - 1, `${receiver.name} ${id}`).toBeLessThanOrEqual(lost);
      }
    }
    expect(slow.requests.filter((r) => r.lost).length).toBe(30);
    expect(ok.requests).toHaveLength(30);
    // Retry-After honoured: the flaky receiver's third attempt came >= 1 s after the second.
    for (const id of ids) {
      const attempts = flaky.requests.filter((r) => r.id === id);
      expect(attempts.map((r) => r.status)).toEqual([500, 503, 200]);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(950);
    }
    expect(status.map((s) => [s.endpoint, s.acknowledged, s.failed])).toEqual([
      ['down', 30, 0],
      ['flaky', 30, 0],
      ['ok', 30, 0],
      ['slow', 30, 0],
    ]);

    // Delivery state in ClickHouse: 120 deliveries acknowledged, with their retrying history.
    const rows = await (
      await world.clickhouse.query({
        query: `SELECT endpoint, status, count() AS n, max(attempts) AS max_attempts FROM ${world.database}.alert_delivery_state GROUP BY endpoint, status ORDER BY endpoint`,
        format: 'JSONEachRow',
      })
    ).json<{ endpoint: string; status: string; n: string; max_attempts: string }>();
    expect(rows.map((r) => [r.endpoint, r.status, Number(r.n)])).toEqual([
      ['down', 'acknowledged', 30],
      ['flaky', 'acknowledged', 30],
      ['ok', 'acknowledged', 30],
      ['slow', 'acknowledged', 30],
    ]);
    expect(Number(rows.find((r) => r.endpoint === 'flaky')?.max_attempts)).toBe(3);
    const retrying = await (
      await world.clickhouse.query({
        query: `SELECT endpoint, count() AS n FROM ${world.database}.alert_deliveries FINAL WHERE status = 'retrying' GROUP BY endpoint ORDER BY endpoint`,
        format: 'JSONEachRow',
      })
    ).json<{ endpoint: string; n: string }>();
    expect(retrying.find((r) => r.endpoint === 'flaky')?.n).toBe('60');
    expect(Number(retrying.find((r) => r.endpoint === 'down')?.n)).toBeGreaterThanOrEqual(30);
    const alerts = await (
      await world.clickhouse.query({
        query: `SELECT count() AS n FROM ${world.database}.alerts FINAL`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    expect(alerts[0]?.n).toBe('30');

    // A second dispatcher on the same group finds everything committed: nothing is sent again.
    const again = dispatcher(config, 'dispatcher-a');
    await again.start();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(again.summary().consumed).toBe(0);
    await again.stop();
    expect(ok.requests).toHaveLength(30);
    for (const r of [ok, flaky, slow, down]) await r.stop();
  });

  it('dead-letters a delivery after its retry budget, and still commits the outbox', async () => {
    const broken = new TestReceiver('broken', [SECRETS[0]], () => ({ status: 502 }));
    const fine = new TestReceiver('fine', [SECRETS[1]]);
    await broken.start();
    await fine.start();
    const config = parseAlertConfig(
      rulesFile([
        {
          id: 'broken',
          url: broken.url,
          secrets: [SECRETS[0]],
          extra:
            '        timeout: 1s\n        retry: { max_attempts: 3, base_delay: 50ms, max_delay: 200ms }\n',
        },
        { id: 'fine', url: fine.url, secrets: [SECRETS[1]] },
      ]),
      'dead.yaml',
      {},
    );
    const ids = await publishToOutbox(
      world.kafka,
      world.topics.alerts,
      syntheticTransitions(3, Date.UTC(2026, 10, 28, 1, 0)),
    );
    const log = new DeliveryLog(world.clickhouse, world.database, logger, 200);
    const service = dispatcher(config, 'dispatcher-dead', log);
    await service.start();
    await waitFor(
      'all deliveries to settle',
      () => service.summary().consumed >= ids.length && service.summary().pending_deliveries === 0,
      60_000,
    );
    await waitFor('the offsets to be committed', () => service.summary().unsettled_records === 0, 10_000);
    await service.stop();
    await log.close();
    expect(service.deliveries({ status: 'failed' }).map((d) => d.endpoint)).toEqual(ids.map(() => 'broken'));
    for (const id of ids) expect(broken.requests.filter((r) => r.id === id)).toHaveLength(3);

    const dead = await (
      await world.clickhouse.query({
        query: `SELECT event_id, endpoint, attempts, last_http_status, last_error FROM ${world.database}.alert_dead_letters FINAL ORDER BY event_id`,
        format: 'JSONEachRow',
      })
    ).json<{
      event_id: string;
      endpoint: string;
      attempts: number;
      last_http_status: number;
      last_error: string;
    }>();
    expect(dead.map((d) => d.event_id).sort()).toEqual([...ids].sort());
    expect(dead[0]).toMatchObject({ endpoint: 'broken', attempts: 3, last_http_status: 502 });
    expect(dead[0]?.last_error).toContain('retry budget exhausted after 3 attempts');
    const state = await (
      await world.clickhouse.query({
        query: `SELECT endpoint, status, count() AS n FROM ${world.database}.alert_delivery_state WHERE event_id IN (${ids.map((i) => `'${i}'`).join(',')}) GROUP BY endpoint, status ORDER BY endpoint`,
        format: 'JSONEachRow',
      })
    ).json<{ endpoint: string; status: string; n: string }>();
    expect(state).toEqual([
      { endpoint: 'broken', status: 'failed', n: String(ids.length) },
      { endpoint: 'fine', status: 'acknowledged', n: String(ids.length) },
    ]);

    // The dead letters are also on their Kafka topic.
    const consumer = world.kafka.consumer({
      kafkaJS: { groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}dl-reader`, fromBeginning: true },
    } as KafkaJS.ConsumerConstructorConfig);
    await consumer.connect();
    await consumer.subscribe({ topics: [world.topics.deadLetters] });
    const letters: Array<{ event_id: string; endpoint: string; payload: string }> = [];
    await consumer.run({
      eachMessage: async ({ message }: KafkaJS.EachMessagePayload) => {
        letters.push(JSON.parse(String(message.value)));
      },
    });
    await waitFor('the dead letters on Kafka', () => letters.length >= ids.length, 30_000);
    await consumer.disconnect();
    expect(letters.map((l) => l.event_id).sort()).toEqual([...ids].sort());
    expect(JSON.parse(letters[0]!.payload).specversion).toBe('1.0');
    await broken.stop();
    await fine.stop();
  });

  it('sends each department its payload as the catalogue projects it, signed as sent', async () => {
    const receiver = new TestReceiver('projected', [SECRETS[0]]);
    await receiver.start();
    const config = parseAlertConfig(
      rulesFile([{ id: 'projected', url: receiver.url, secrets: [SECRETS[0]] }]),
      'projected.yaml',
      {},
    );
    const { catalogue: city } = await loadCatalogue();
    const copy = structuredClone(city);
    copy.negative_list.push({
      id: 'places',
      legal_basis: 'a test rule',
      resources: ['alerts.webhooks'],
      items: ['district', 'indicator'],
    });
    const catalogue = parseCatalogue(stringify(copy)).catalogue;
    const transitions = syntheticTransitions(2, Date.UTC(2026, 10, 28, 1, 0));
    expect(transitions.every((t) => toAlertCloudEvent(t).data.district !== undefined)).toBe(true);
    const ids = await publishToOutbox(world.kafka, world.topics.alerts, transitions);
    await world.clickhouse.command({
      query: createTable(exchangeLedger, { city: world.database, restricted: world.database }),
    });
    const ledger = new ExchangeLedger(world.clickhouse, world.database, 'alerts', {
      key: Buffer.alloc(32, 3),
    });
    const service = new AlertDispatcher({
      kafka: world.kafka,
      topics: world.topics,
      groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}dispatcher-projected`,
      config: () => config,
      logger,
      metrics: createAlertMetrics(undefined, false),
      catalogue: () => catalogue,
      ledger,
    });
    await service.start();
    await waitFor(
      'the deliveries',
      () => service.summary().pending_deliveries === 0 && service.summary().consumed >= ids.length,
      30_000,
    );
    await service.stop();
    const accepted = receiver.requests.filter((r) => r.verdict === 'accepted');
    expect(accepted.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const request of accepted) {
      const data = (JSON.parse(request.body) as AlertCloudEvent).data;
      expect(data).not.toHaveProperty('district');
      expect(data).not.toHaveProperty('indicator');
      expect(data.alert_id).toMatch(/^al_/);
    }
    // The ledger holds one row per delivery, as the receiver counted them, with the fields as sent.
    await ledger.stop();
    const rows = await (
      await world.clickhouse.query({
        query: `SELECT consumer, exit, items, records, succeeded FROM ${world.database}.${exchangeLedger.name} FINAL`,
        format: 'JSONEachRow',
      })
    ).json<{ consumer: string; exit: string; items: string[]; records: string; succeeded: number }>();
    expect(rows).toHaveLength(accepted.length);
    for (const row of rows) {
      expect(row).toMatchObject({ consumer: 'dept-projected', exit: 'webhook', records: '1', succeeded: 1 });
      expect(row.items).not.toContain('district');
    }
    expect((await verifyLedger(world.clickhouse, world.database, Buffer.alloc(32, 3))).problems).toEqual([]);
    await receiver.stop();
  });
});
