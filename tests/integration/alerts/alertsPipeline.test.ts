import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertDispatcher } from '../../../engine/alerts/alertDispatcher.ts';
import { AlertEvaluatorService } from '../../../engine/alerts/alertEvaluatorService.ts';
import { createAlertMetrics } from '../../../engine/alerts/alertMetrics.ts';
import { parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import {
  type AggregateMessage,
  aggregateKey,
  districtWindowMessage,
} from '../../../engine/contract/aggregates.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { parseAlertEvent } from '../../../engine/server/alertEvent.ts';
import { type AlertWorld, createAlertWorld, SECRETS, waitFor } from './alertTestKit.ts';
import { TestReceiver } from './webhookReceivers.ts';

const logger = createLogger('alerts-pipeline-test', process.env['LOG_LEVEL'] ?? 'warn');
const T0 = Date.UTC(2026, 10, 27, 1, 0);
const MINUTE = 60_000;

function window(district: string, minute: number, speed: number, partition = 0): AggregateMessage {
  return districtWindowMessage({
    stream: 'transport',
    district,
    window_start: T0 + minute * MINUTE,
    window_end: T0 + (minute + 1) * MINUTE,
    partition,
    final: true,
    events: 100,
    distinct_keys: 60,
    speed_sum: speed * 100,
    speed_count: 100,
  });
}

describe('aggregates topic -> evaluator -> outbox -> dispatcher -> webhook', () => {
  let world: AlertWorld;
  let aggregates: string;
  beforeAll(async () => {
    world = await createAlertWorld(3);
    aggregates = internalTopic('aggregates', world.env.CITY_OPS_TOPIC_PREFIX);
    await ensureTopics(world.env, [aggregates], 3);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('alerts on windows and incidents, without personal data, across an evaluator restart', async () => {
    const receiver = new TestReceiver('transport', [SECRETS[0]]);
    await receiver.start();
    const loaded = parseAlertConfig(
      `version: 1
departments:
  - id: transport
    name_en: Transport
    name_zh: 交通运输局
    endpoints: [{ id: transport-ops, url: '${receiver.url}', secrets: [${SECRETS[0]}], timeout: 2s }]
rules:
  - id: slow
    severity: warning
    title_en: 'Slow in {district_en}: {value} km/h'
    title_zh: '{district_zh}缓慢'
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: 12, clear: 16, for: 2, clear_for: 2 }
  - id: crowd
    severity: critical
    title_en: '{category} in {district_en} near {value} people'
    title_zh: '{district_zh}{category}'
    source: { kind: incident_impact, indicator: people_present }
    condition: { type: threshold, direction: above, fire: 1000 }
routes: [{ departments: [transport] }]
`,
      'pipeline.yaml',
      {},
    );
    const producer = world.kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
    await producer.connect();
    const publish = (messages: AggregateMessage[]) =>
      producer.send({
        topic: aggregates,
        messages: messages.map((m) => ({ key: aggregateKey(m), value: JSON.stringify(m) })),
      });
    const evaluatorOptions = {
      kafka: world.kafka,
      topics: world.topics,
      aggregatesTopic: aggregates,
      groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}evaluator`,
      config: loaded,
      logger,
      metrics: createAlertMetrics(undefined, false),
      snapshotIntervalMs: 200,
    };
    const dispatcher = new AlertDispatcher({
      kafka: world.kafka,
      topics: world.topics,
      groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}dispatcher`,
      config: () => loaded,
      logger,
      metrics: createAlertMetrics(undefined, false),
    });
    await dispatcher.start();
    const first = new AlertEvaluatorService(evaluatorOptions);
    await first.start();

    // Futian slows down for 3 minutes (fires at the second); an incident report with a reporter touches 2 500 people.
    await publish([
      window('440304', 0, 20),
      window('440304', 1, 10),
      window('440304', 2, 9),
      window('440304', 3, 8),
    ]);
    await publish([
      {
        kind: 'incident',
        id: 'rep-1',
        incident_id: 'inc-1',
        ts: T0 + 2 * MINUTE,
        category: 'fire',
        severity: 4,
        status: 'open',
        lat: 22.54,
        lon: 114.05,
        district: '440304',
        cell: '88411c0001fffff',
        source: 'hotline',
        description: '张伟 13800138000 reports smoke',
        reporter: { name: '张伟', phone: '13800138000', id_number: '440304199001011234' },
      },
      {
        kind: 'incident_impact',
        incident_id: 'inc-1',
        ts: T0 + 2 * MINUTE,
        district: '440304',
        category: 'fire',
        severity: 4,
        lat: 22.54,
        lon: 114.05,
        radius_m: 500,
        band_ms: 300_000,
        vehicles: 12,
        nearest_vehicles: [{ vehicle: 'B12345', mode: 'bus', distance_m: 30 }],
        people_present: 2_500,
      },
    ]);
    await waitFor('two firing alerts at the webhook', () => receiver.delivered().size >= 2, 60_000);
    // Let a snapshot be written, then restart the evaluator: its state (the active alert) must survive.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await first.stop();
    const second = new AlertEvaluatorService(evaluatorOptions);
    await second.start();
    expect(second.summary().restored_from_snapshot_at).not.toBeNull();
    await publish([window('440304', 4, 18), window('440304', 5, 19), window('440304', 6, 25)]);
    await waitFor('the resolved alert', () => receiver.delivered().size >= 3, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await second.stop();
    await dispatcher.stop();
    await producer.disconnect();

    const bodies = receiver.requests.filter((r) => r.verdict === 'accepted').map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => [b.type, b.data.rule])).toEqual(
      expect.arrayContaining([
        ['city.alert.firing', 'slow'],
        ['city.alert.firing', 'crowd'],
        ['city.alert.resolved', 'slow'],
      ]),
    );
    expect(bodies).toHaveLength(3);
    const slow = bodies.filter((b) => b.data.rule === 'slow');
    expect(slow[0].data).toMatchObject({
      district: '440304',
      started_at: new Date(T0 + 2 * MINUTE).toISOString(),
      title_zh: '福田区缓慢',
    });
    expect(slow[1].data.alert_id).toBe(slow[0].data.alert_id);
    expect(slow[1].data.resolved_at).toBe(new Date(T0 + 6 * MINUTE).toISOString());
    const raw = receiver.requests.map((r) => r.body).join('\n');
    for (const secret of ['张伟', '13800138000', '440304199001011234', 'B12345', 'hotline', 'smoke']) {
      expect(raw).not.toContain(secret);
    }

    // The outbox is what the live map reads: its parser understands every record.
    const consumer = world.kafka.consumer({
      kafkaJS: { groupId: `${world.env.CITY_OPS_TOPIC_PREFIX}map-reader`, fromBeginning: true },
    } as KafkaJS.ConsumerConstructorConfig);
    await consumer.connect();
    await consumer.subscribe({ topics: [world.topics.alerts] });
    const seen: Array<ReturnType<typeof parseAlertEvent>> = [];
    await consumer.run({
      eachMessage: async ({ message }: KafkaJS.EachMessagePayload) => {
        seen.push(parseAlertEvent(message.value));
      },
    });
    await waitFor('the outbox records', () => seen.length >= 3, 30_000);
    await consumer.disconnect();
    expect(seen.every((entity) => entity !== undefined)).toBe(true);
    expect(seen.map((e) => e?.state).sort()).toEqual(['firing', 'firing', 'resolved']);
    await receiver.stop();
  });
});
