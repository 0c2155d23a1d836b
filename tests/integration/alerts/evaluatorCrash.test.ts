import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluatorSnapshot } from '../../../engine/alerts/alertEvaluator.ts';
import { readTopicToEnd } from '../../../engine/alerts/alertKafka.ts';
import { ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { type AggregateMessage, districtWindowMessage } from '../../../engine/contract/aggregates.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import { publishAggregates } from '../../../engine/server/publishAggregates.ts';
import {
  type AlertsRun,
  type AlertWorld,
  createAlertWorld,
  rulesFile,
  SECRETS,
  spawnAlerts,
  waitFor,
} from './alertTestKit.ts';
import { TestReceiver } from './webhookReceivers.ts';

const T0 = Date.UTC(2026, 10, 27, 1, 0);
const MINUTE = 60_000;

function window(minute: number, speed: number): AggregateMessage {
  return districtWindowMessage({
    stream: 'transport',
    district: '440304',
    window_start: T0 + minute * MINUTE,
    window_end: T0 + (minute + 1) * MINUTE,
    partition: 0,
    final: true,
    events: 100,
    distinct_keys: 60,
    speed_sum: speed * 100,
    speed_count: 100,
  });
}

/**
 * The window of the bug: a complete window is held (the other partitions of the aggregates topic have not
 * passed it), the snapshot that holds it is written and its offsets committed, and the process dies before
 * the idle check releases it. `--idle-check 3600000` keeps the first run's idle check away, so the kill
 * always lands in that window.
 */
describe('the alert evaluator killed with SIGKILL while a complete window is held', () => {
  let world: AlertWorld;
  let dir: string;
  let aggregates: string;
  beforeAll(async () => {
    world = await createAlertWorld(3);
    dir = mkdtempSync(join(tmpdir(), 'city-ops-evaluator-'));
    aggregates = internalTopic('aggregates', world.env.CITY_OPS_TOPIC_PREFIX);
    await ensureTopics(world.env, [aggregates], 3);
  });
  const runs: AlertsRun[] = [];
  afterAll(async () => {
    for (const run of runs) run.child.kill('SIGKILL');
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The latest snapshot of the evaluator group, or undefined. */
  async function latestSnapshot(): Promise<
    { offsets: Record<string, string>; state: EvaluatorSnapshot } | undefined
  > {
    let stored: { offsets: Record<string, string>; state: EvaluatorSnapshot } | undefined;
    const group = `${world.env.CITY_OPS_TOPIC_PREFIX}city-ops-alert-evaluator`;
    await readTopicToEnd(world.kafka, world.topics.evaluatorState, (record) => {
      if (record.key === group && record.value) stored = JSON.parse(record.value.toString());
    });
    return stored;
  }

  it('delivers the held window alert and its resolution to every receiver after the restart', async () => {
    const receivers = [new TestReceiver('a', [SECRETS[0]]), new TestReceiver('b', [SECRETS[1]])];
    for (const r of receivers) await r.start();
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      rulesFile(receivers.map((r, i) => ({ id: r.name, url: r.url, secrets: [SECRETS[i]!] }))),
    );
    const producer = world.kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
    await producer.connect();
    const publish = (messages: AggregateMessage[]) => publishAggregates(producer, aggregates, messages);

    const first = spawnAlerts(world, [
      '--rules',
      rules,
      '--snapshot-interval',
      '100',
      '--idle-check',
      '3600000',
    ]);
    runs.push(first);
    await waitFor(
      'the first run to consume',
      () => first.output.some((l) => l.startsWith('alerts: running')),
      60_000,
    );
    await publish([window(0, 9)]);
    // Batches trigger snapshots: a watermark message (it releases nothing) brings one when none came yet.
    let tick = 0;
    await waitFor(
      'a snapshot that holds the slow window',
      async () => {
        const held = (await latestSnapshot())?.state.held ?? [];
        if (held.some((h) => h.kind === 'window' && h.totals.window_start === T0)) return true;
        tick += 1;
        await publish([
          { kind: 'watermark', stream: 'transport', partition: 0, watermark: T0 + tick, at: 0 },
        ]);
        return false;
      },
      30_000,
    );
    expect(receivers.every((r) => r.requests.length === 0)).toBe(true);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = spawnAlerts(world, [
      '--rules',
      rules,
      '--snapshot-interval',
      '100',
      '--idle-check',
      '200',
    ]);
    runs.push(second);
    const firingDelivered = () => receivers.every((r) => r.delivered().size >= 1);
    await waitFor('the firing alert at every receiver after the restart', firingDelivered, 60_000);
    await publish([window(1, 20)]);
    await waitFor(
      'the resolution at every receiver',
      () => receivers.every((r) => r.delivered().size >= 2),
      60_000,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    await producer.disconnect();

    for (const receiver of receivers) {
      const accepted = receiver.requests
        .filter((r) => r.verdict === 'accepted')
        .map((r) => JSON.parse(r.body));
      expect(accepted.map((b) => [b.type, b.data.rule, b.data.district])).toEqual([
        ['city.alert.firing', 'slow', '440304'],
        ['city.alert.resolved', 'slow', '440304'],
      ]);
      expect(accepted[1].data.alert_id).toBe(accepted[0].data.alert_id);
      expect([...receiver.delivered().values()]).toEqual([1, 1]);
    }
    for (const r of receivers) await r.stop();
  });
});
