import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addWorkingDays, GrantRequestStore } from '../../../engine/access/grantRequests.ts';
import { GrantStore } from '../../../engine/access/grantStore.ts';
import { OVERDUE_RULE, startExchangeAlerts } from '../../../engine/access/overdueAlerts.ts';
import { AlertDispatcher } from '../../../engine/alerts/alertDispatcher.ts';
import type { AlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import { createAlertMetrics } from '../../../engine/alerts/alertMetrics.ts';
import { parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { isLive } from '../../../engine/catalogue/projection.ts';
import { grantRequests, grants } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import { createTable } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { type AlertWorld, createAlertWorld, rulesFile, SECRETS, waitFor } from './alertTestKit.ts';
import { TestReceiver } from './webhookReceivers.ts';

const logger = createLogger('grant-requests-test', process.env['LOG_LEVEL'] ?? 'warn');
const HOUR = 3_600_000;

/** The request -> answer -> grant or refusal workflow in ClickHouse, and an overdue answer as an alert. */
describe('requests for conditional classes (ClickHouse, Kafka, a webhook)', async () => {
  const { catalogue } = await loadCatalogue();
  let world: AlertWorld;
  let requests: GrantRequestStore;
  let store: GrantStore;

  beforeAll(async () => {
    world = await createAlertWorld(1);
    for (const table of [grants, grantRequests])
      await world.clickhouse.command({
        query: createTable(table, { city: world.database, restricted: world.database }),
      });
    requests = new GrantRequestStore(world.clickhouse, world.database);
    store = new GrantStore(world.clickhouse, world.database);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('grants a request under its own id, and refuses one only with a legal basis', async () => {
    const asked = await requests.request(
      catalogue,
      { department: 'emergency', resource: 'map.vehicles', items: ['*'], purpose: 'evacuation routing' },
      'test',
    );
    expect(asked).toMatchObject({ state: 'open', provider: 'transport' });
    expect(asked.due_at).toBe(addWorkingDays(asked.requested_at, 5));
    const answered = await requests.grant(catalogue, store, asked.id, {
      approved_by: 'transport: duty officer',
      valid_until: Date.now() + 24 * HOUR,
    });
    expect(answered.state).toBe('granted');
    const [grant] = (await store.current()).filter((g) => g.id === asked.id);
    expect(grant && isLive(grant, Date.now())).toBe(true);
    await expect(requests.refuse(asked.id, { by: 'x', legal_basis: 'y' })).rejects.toThrow(
      /answered already/,
    );

    const second = await requests.request(
      catalogue,
      {
        department: 'health',
        resource: 'map.vehicles',
        items: ['vehicle', 'lat', 'lon'],
        purpose: 'ambulances',
      },
      'test',
    );
    await expect(requests.refuse(second.id, { by: 'transport', legal_basis: ' ' })).rejects.toThrow(
      /legal basis/,
    );
    await requests.refuse(second.id, { by: 'transport', legal_basis: 'operators’ contracts, art. 12' });
    const states = new Map((await requests.current()).map((r) => [r.id, r]));
    expect(states.get(second.id)).toMatchObject({
      state: 'refused',
      legal_basis: 'operators’ contracts, art. 12',
    });
    await expect(
      requests.request(
        catalogue,
        { department: 'health', resource: 'map.districts', items: ['*'], purpose: 'x' },
        't',
      ),
    ).rejects.toThrow(/only a conditional class is granted/);
  });

  it('alerts the provider’s webhook when its answer is overdue', async () => {
    const receiver = new TestReceiver('transport-ops', [SECRETS[0]]);
    await receiver.start();
    const config = parseAlertConfig(
      rulesFile([{ id: 'transport-ops', url: receiver.url, secrets: [SECRETS[0]], department: 'transport' }]),
      'overdue.yaml',
      {},
    );
    // A request made 8 days ago, never answered: its 5 working days are over.
    const asked = await requests.request(
      catalogue,
      { department: 'emergency', resource: 'input.transport', items: ['*'], purpose: 'evacuation routing' },
      'test',
      Date.now() - 8 * 24 * HOUR,
    );
    const dispatcher = new AlertDispatcher({
      kafka: world.kafka,
      topics: world.topics,
      groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}overdue`,
      config: () => config,
      logger,
      metrics: createAlertMetrics(undefined, false),
      catalogue: () => catalogue,
    });
    await dispatcher.start();
    const overdue = await startExchangeAlerts(
      world.kafka,
      world.topics.alerts,
      world.clickhouse,
      world.database,
      () => catalogue,
      600_000,
      logger,
    );
    try {
      await waitFor(
        'the overdue alert at the provider',
        () => receiver.requests.some((r) => r.verdict === 'accepted'),
        30_000,
      );
      const alerts = receiver.requests.map((r) => JSON.parse(r.body) as AlertCloudEvent);
      const mine = alerts.filter(
        (a) => a.data.rule === OVERDUE_RULE && a.data.title_en.includes(asked.resource),
      );
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ type: 'city.alert.firing', data: { department: 'transport' } });
      expect(mine[0]!.data.value).toBeGreaterThan(0);
    } finally {
      await overdue.stop();
      await dispatcher.stop();
      await receiver.stop();
    }
  });
});
