import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertStatusServer } from '../../../engine/alerts/alertStatusServer.ts';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import { publishAggregates } from '../../../engine/server/publishAggregates.ts';
import { SyntheticCity } from '../../../engine/server/syntheticCity.ts';
import { type CityOpsProcess, spawnCityOps } from '../../helpers/cityOpsProcess.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { rawRequest } from '../../helpers/rawHttp.ts';
import { ProtocolClient } from '../server/protocolClient.ts';

const TOKEN = 'hostile-map-token-16';

/** Request targets near the ones that broke the server: malformed escapes, NULs, traversal, odd bytes. */
const PATH = fc
  .array(
    fc.oneof(
      fc.constantFrom('%', '%E0%A4%A', '%E0', '%00', '%2e%2e/', '../', '//', '%ff', '%u0000', '?token=', '#'),
      fc.constantFrom('basemap/', 'api/history', 'api/districts', 'health', 'metrics', 'ws', 'index.html'),
      fc.string({ maxLength: 12 }).map((s) => s.replace(/[\s\r\n]/g, '')),
      fc.string({ unit: 'grapheme', maxLength: 4 }).map((s) => s.replace(/[\s\r\n]/g, '')),
    ),
    { maxLength: 6 },
  )
  .map((parts) => `/${parts.join('')}`);

const HEADERS = fc.array(
  fc.tuple(
    fc.constantFrom(
      'Authorization',
      'Origin',
      'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Key',
      'Sec-WebSocket-Version',
      'Upgrade',
      'Connection',
      'Cookie',
      'Range',
      'Accept-Encoding',
    ),
    fc
      .oneof(
        fc.string({ maxLength: 40 }),
        fc.constantFrom(
          'websocket',
          'Upgrade',
          `Bearer ${TOKEN}`,
          `city-ops.token.${TOKEN}`,
          'dGhlIHNhbXBsZSBub25jZQ==',
        ),
      )
      .map((v) => v.replace(/[\r\n]/g, '')),
  ),
  { maxLength: 6 },
);

/** Client messages near the protocol's: random text, random JSON, subscribes with wrong pieces. */
const CLIENT_MESSAGE = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc
    .record(
      {
        type: fc.constantFrom('subscribe', 'ping', 'unsubscribe', '', 'SUBSCRIBE'),
        layers: fc.oneof(
          fc.array(fc.constantFrom('vehicles', 'cells', 'districts', 'x', ''), { maxLength: 9 }),
          fc.anything(),
        ),
        area: fc.oneof(
          fc.record({ districts: fc.array(fc.string({ maxLength: 40 }), { maxLength: 80 }) }),
          fc.record({ bbox: fc.array(fc.double(), { maxLength: 5 }) }),
          fc.anything(),
        ),
        resolution: fc.oneof(fc.integer(), fc.double()),
        zoom: fc.oneof(fc.double(), fc.string()),
        resume: fc.record({
          epoch: fc.string({ maxLength: 80 }),
          seqs: fc.dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.integer(), fc.double()), {
            maxKeys: 300,
          }),
        }),
      },
      { requiredKeys: ['type'] },
    )
    .map((m) => JSON.stringify(m)),
);

describe('the map server against hostile requests and messages (city-ops serve, real Kafka)', () => {
  const prefix = `test.hostile.${uniqueSuffix()}.`;
  const aggregates = internalTopic('aggregates', prefix);
  let serve: CityOpsProcess;
  let port = 0;

  beforeAll(async () => {
    await ensureTopics(testEnv, [aggregates, internalTopic('alerts', prefix)], 2);
    serve = spawnCityOps(['serve', '--port', '0', '--token', TOKEN], { CITY_OPS_TOPIC_PREFIX: prefix });
    port = Number((await serve.line(/map server listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  });
  afterAll(async () => {
    serve?.child.kill('SIGKILL');
    const admin = createKafka(testEnv, 'hostile-cleanup').admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [aggregates, internalTopic('alerts', prefix)] }).catch(() => {});
    await admin.disconnect();
  });

  const alive = async () => {
    expect(serve.child.exitCode, serve.output.join('\n')).toBeNull();
    expect((await rawRequest(port, '/health')).status).toBe(200);
  };

  it('answers 400 to a malformed escape in a path, and keeps serving', async () => {
    for (const target of ['/%E0%A4%A', '/basemap/%E0%A4%A', '/%', '/index.html%00', '/basemap/%00x']) {
      expect((await rawRequest(port, target)).status, target).toBe(400);
    }
    await alive();
  });

  it('answers every random path and header set, never with a crash (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        PATH,
        HEADERS,
        fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS'),
        async (path, headers, method) => {
          const answer = await rawRequest(port, path, headers, method);
          // uWS itself may refuse a malformed request by closing (status 0); what matters is the process.
          expect(
            answer.status === 0 || (answer.status >= 200 && answer.status < 500),
            `${method} ${path}`,
          ).toBe(true);
          expect(serve.child.exitCode).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
    await alive();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).not.toMatch(/city_map_handler_errors_total\{[^}]*\} [1-9]/);
  });

  it('answers every random WebSocket message with a protocol answer, and the connection goes on (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(CLIENT_MESSAGE, { minLength: 1, maxLength: 8 }), async (messages) => {
        const client = await ProtocolClient.connect(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
        try {
          for (const message of messages) client.ws.send(message);
          client.send({ type: 'ping', t: 42 });
          await client.until(() => client.of('pong').length > 0 || client.closed !== undefined, 10_000);
          expect(client.closed).toBeUndefined();
        } finally {
          client.close();
        }
      }),
      { numRuns: 40 },
    );
    await alive();
  });

  it('slows a flooding client down, then closes it (1008); resumes once per connection', async () => {
    const flood = await ProtocolClient.connect(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
    for (let i = 0; i < 200; i += 1) flood.send({ type: 'ping', t: i });
    await flood.until(() => flood.closed !== undefined, 10_000);
    expect(flood.closed?.code).toBe(1008);
    expect(flood.of('error').map((e) => (e as { code: string }).code)).toContain('RATE_LIMITED');

    const client = await ProtocolClient.connect(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
    const seqs = { districts: 0, status: 0 };
    client.send({
      type: 'subscribe',
      layers: ['districts', 'status'],
      resume: { epoch: client.epoch, seqs },
    });
    client.send({
      type: 'subscribe',
      layers: ['districts', 'status'],
      resume: { epoch: client.epoch, seqs },
    });
    client.send({ type: 'ping', t: 1 });
    await client.until(() => client.of('pong').length > 0);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const resumes = [...metrics.matchAll(/city_map_resumes_total\{[^}]*\} (\d+)/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(resumes).toBe(2); // two topics, from the first subscribe only
    client.close();
  });

  it('still serves live data after all that', async () => {
    const kafka = createKafka(testEnv, 'hostile-publisher');
    const producer = kafka.producer({ 'linger.ms': 5 });
    await producer.connect();
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
    client.subscribe(['vehicles'], { area: { districts: ['440304'] } });
    const city = new SyntheticCity({ vehicles: 500, cells: 50, seed: 3 });
    await publishAggregates(producer, aggregates, city.tick(Date.now()));
    await client.until(() => (client.state.get('vehicles/440304')?.size ?? 0) > 0, 30_000);
    client.close();
    await producer.disconnect();
    await alive();
  });
});

describe('the alert status server against hostile paths', () => {
  it('answers `GET //` and other paths URL cannot parse with 400, and keeps serving', async () => {
    const { Registry } = await import('prom-client');
    const status = await startAlertStatusServer(
      {
        registry: new Registry(),
        config: () => {
          throw new Error('not used');
        },
        startedAt: Date.now(),
      } as unknown as Parameters<typeof startAlertStatusServer>[0],
      0,
    );
    try {
      for (const target of ['//', '//[', 'http://[', '/%E0%A4%A']) {
        const answer = await rawRequest(status.port, target);
        expect([400, 404], target).toContain(answer.status);
      }
      expect((await rawRequest(status.port, '/status')).status).toBe(500); // a failing source: an answer, not a crash
      expect((await rawRequest(status.port, '/health')).status).toBe(200);
    } finally {
      await status.close();
    }
  });
});
