import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../engine/config/environment.ts';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import { type MapServer, startMapServer } from '../../../engine/server/mapServer.ts';
import { publishAggregates } from '../../../engine/server/publishAggregates.ts';
import { SyntheticCity } from '../../../engine/server/syntheticCity.ts';
import { applyKafkaAccess } from '../../../engine/stack/kafkaAccess.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const health = async (server: MapServer) => {
  const response = await fetch(`${server.url}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** The map server's /health fails while its Kafka reader cannot read, and recovers when it can again. */
describe('map server health follows its aggregates reader', () => {
  const prefix = `test.readerhealth.${uniqueSuffix()}.`;
  const aggregates = internalTopic('aggregates', prefix);
  const kafka = createKafka(testEnv, 'reader-health-publisher');
  const producer = kafka.producer({ 'linger.ms': 5 });
  const city = new SyntheticCity({ vehicles: 300, cells: 40, seed: 9 });
  let server: MapServer;
  const revoke = (verb: 'acl' | 'revoke') =>
    applyKafkaAccess(testEnv, [`${verb}\tUser:map\tTOPIC\tLITERAL\t${aggregates}\tREAD`]);

  beforeAll(async () => {
    await ensureTopics(testEnv, [aggregates, internalTopic('alerts', prefix)], 2);
    await producer.connect();
    server = await startMapServer({
      // As the map server's own Kafka user, whose rights the test takes away.
      env: loadEnvironment({ ...process.env, CITY_OPS_KAFKA_PRINCIPAL: 'map' }),
      token: 'reader-health-token-16',
      port: 0,
      topicPrefix: prefix,
      history: false,
      readerStallMs: 2_000,
    });
  });
  afterAll(async () => {
    await server?.close();
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [aggregates, internalTopic('alerts', prefix)] }).catch(() => {});
    await admin.disconnect();
  });

  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline)
        throw new Error(`${what}: not within ${timeoutMs} ms (${JSON.stringify(await health(server))})`);
      await sleep(250);
    }
  };

  it('is ok while it reads, fails once records wait and it cannot read them, and recovers', async () => {
    let t = Date.now();
    const tick = async () => {
      t += 1000;
      await publishAggregates(producer, aggregates, city.tick(t));
    };
    await tick();
    await until(
      'healthy and read',
      async () => (await health(server)).status === 200 && (await health(server)).body['kafka_lag'] === 0,
    );

    // The map's own user may not create the case topics: the console waits and says why, the map goes on.
    const casesAnswer = await fetch(`${server.url}/api/cases`, {
      headers: { Authorization: 'Bearer reader-health-token-16' },
    });
    expect(casesAnswer.status).toBe(503);
    expect(((await casesAnswer.json()) as { note: string }).note).toMatch(/city-ops migrate/);

    revoke('revoke');
    const blind = setInterval(() => void tick(), 500);
    try {
      await until('unhealthy without the right to read', async () => (await health(server)).status === 503);
      const { body } = await health(server);
      expect(body['status']).toBe('blind');
      expect(String(body['kafka_detail'])).toMatch(/records wait and nothing was read/);
    } finally {
      clearInterval(blind);
    }

    revoke('acl');
    await until(
      'healthy again with the right restored',
      async () => (await health(server)).status === 200,
      120_000,
    );
  });
});
