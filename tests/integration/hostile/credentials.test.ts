import { readFileSync, statSync } from 'node:fs';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import KafkaJavascript from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../engine/config/environment.ts';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { allTopics, internalTopic, streamTopic } from '../../../engine/contract/topics.ts';
import { credentialsFile, type KafkaPrincipal } from '../../../engine/stack/credentials.ts';
import { spawnCityOps } from '../../helpers/cityOpsProcess.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const prefix = `test.access.${uniqueSuffix()}.`;
const as = (principal: KafkaPrincipal) =>
  createKafka(
    loadEnvironment({ ...process.env, CITY_OPS_KAFKA_PRINCIPAL: principal }),
    `access-${principal}`,
  );

/** What a write by `principal` to `topic` comes to: 'ok' or the broker's refusal. */
async function write(principal: KafkaPrincipal, topic: string): Promise<string> {
  const producer = as(principal).producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
  await producer.connect();
  try {
    return await producer.send({ topic, messages: [{ key: 'k', value: '{"forged":true}' }] }).then(
      () => 'ok',
      (error: Error) => error.message,
    );
  } finally {
    await producer.disconnect();
  }
}

describe('credentials: no built-in passwords, one Kafka user per service with only the topics it needs', () => {
  beforeAll(async () => {
    await ensureTopics(testEnv, allTopics(prefix), 1);
  });
  afterAll(async () => {
    const admin = createKafka(testEnv, 'access-cleanup').admin();
    await admin.connect();
    await admin.deleteTopics({ topics: allTopics(prefix) }).catch(() => {});
    await admin.disconnect();
  });

  it('keeps the generated passwords in a file only its owner reads, and refuses the old defaults', async () => {
    expect(statSync(credentialsFile(testEnv.CITY_OPS_STACK_DIR)).mode & 0o777).toBe(0o600);
    expect(testEnv.CLICKHOUSE_PASSWORD).not.toBe('engine-local');
    for (const [user, password] of [
      [testEnv.CLICKHOUSE_USER, 'engine-local'],
      [testEnv.CLICKHOUSE_ANALYST_USER, 'analyst-local'],
    ] as const) {
      const client = createClickHouse(
        loadEnvironment({ ...process.env, CLICKHOUSE_USER: user, CLICKHOUSE_PASSWORD: password }),
      );
      await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow(
        /password is incorrect|Authentication failed|Wrong password/i,
      );
      await client.close();
    }
  });

  it('refuses a Kafka client without credentials, or with a wrong password', async () => {
    const { Kafka } = KafkaJavascript.KafkaJS;
    for (const sasl of [
      undefined,
      { mechanism: 'scram-sha-512' as const, username: 'engine', password: 'wrong-password-1' },
    ]) {
      const producer = new Kafka({
        kafkaJS: {
          brokers: [testEnv.KAFKA_BROKERS],
          clientId: 'access-anonymous',
          ...(sasl ? { sasl } : {}),
        },
      }).producer();
      const outcome = await producer.connect().then(
        () =>
          producer
            .send({ topic: streamTopic('transport', prefix), messages: [{ value: 'x' }] })
            .then(() => 'sent'),
        (error: Error) => error.message,
      );
      expect(outcome).not.toBe('sent');
      await producer.disconnect().catch(() => {});
    }
  }, 120_000);

  it('lets only the alert service write the outbox that the dispatcher signs', async () => {
    const outbox = internalTopic('alerts', prefix);
    expect(await write('alerts', outbox)).toBe('ok');
    for (const other of ['engine', 'map', 'publisher'] as const)
      expect(await write(other, outbox), other).toMatch(/authorization failed/i);
  });

  it('lets publishers write the input streams and nothing else, the engine write only its own topics', async () => {
    expect(await write('publisher', streamTopic('events', prefix))).toBe('ok');
    expect(await write('publisher', internalTopic('aggregates', prefix))).toMatch(/authorization failed/i);
    expect(await write('engine', internalTopic('aggregates', prefix))).toBe('ok');
    expect(await write('engine', streamTopic('events', prefix))).toMatch(/authorization failed/i);
    expect(await write('map', internalTopic('aggregates', prefix))).toMatch(/authorization failed/i);
  });

  it('does not even show a service the topics it may not read', async () => {
    const admin = as('map').admin();
    await admin.connect();
    const visible = await admin.listTopics();
    await admin.disconnect();
    expect(visible).toContain(internalTopic('aggregates', prefix));
    expect(visible).not.toContain(streamTopic('events', prefix));
    expect(visible).not.toContain(internalTopic('deadLetters', prefix));
  });

  it('gives a publishing department a user of its own that may write the input streams and nothing else', async () => {
    // `dept-` names are the departments' reading users (city-ops access kafka): not a publisher's.
    const taken = spawnCityOps(['stack', 'publisher', `dept-${uniqueSuffix()}`], {
      CITY_OPS_TOPIC_PREFIX: prefix,
    });
    expect((await taken.exited).code).not.toBe(0);
    await expect.poll(() => taken.output.join('\n')).toMatch(/is not a free publisher name/);
    const name = `pub-${uniqueSuffix()}`;
    const added = spawnCityOps(['stack', 'publisher', name], { CITY_OPS_TOPIC_PREFIX: prefix });
    const password = (await added.line(new RegExp(`publisher ${name}: SCRAM-SHA-512 password (\\S+)`)))[1]!;
    expect(await added.exited).toEqual({ code: 0, signal: null });
    expect(
      JSON.parse(readFileSync(credentialsFile(testEnv.CITY_OPS_STACK_DIR), 'utf8')).publishers[name],
    ).toBe(password);
    const department = createKafka(
      loadEnvironment({ ...process.env, KAFKA_SASL_USERNAME: name, KAFKA_SASL_PASSWORD: password }),
      name,
    );
    const send = async (topic: string) => {
      const producer = department.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
      await producer.connect();
      try {
        return await producer.send({ topic, messages: [{ value: '{}' }] }).then(
          () => 'ok',
          (e: Error) => e.message,
        );
      } finally {
        await producer.disconnect();
      }
    };
    expect(await send(streamTopic('population', prefix))).toBe('ok');
    expect(await send(internalTopic('alerts', prefix))).toMatch(/authorization failed/i);
    expect(await send(internalTopic('aggregates', prefix))).toMatch(/authorization failed/i);
  });
});
