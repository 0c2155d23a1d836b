import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import type { AggregateMessage } from '../../../engine/contract/aggregates.ts';
import { internalTopic } from '../../../engine/contract/topics.ts';
import { type MapServer, startMapServer } from '../../../engine/server/mapServer.ts';
import { publishAggregates } from '../../../engine/server/publishAggregates.ts';
import { SyntheticCity } from '../../../engine/server/syntheticCity.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { ProtocolClient } from './protocolClient.ts';

const TOKEN = 'integration-token-16ch';
const ALL_LAYERS = ['vehicles', 'cells', 'incidents', 'districts', 'pulse', 'alerts', 'status'];

/** Sum of a prom-client counter over its labels. */
async function total(counter: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function waitFor(test: () => boolean | Promise<boolean>, timeoutMs = 60_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The server's published state of every topic, from its own snapshots. */
function serverState(server: MapServer): Map<string, { seq: number; entities: Map<string, unknown> }> {
  const out = new Map<string, { seq: number; entities: Map<string, unknown> }>();
  for (const topic of server.state.topics()) {
    const snapshot = JSON.parse(server.state.channel(topic).snapshot(Date.now())) as {
      seq: number;
      entities: Array<[string, unknown]>;
    };
    out.set(topic, { seq: snapshot.seq, entities: new Map(snapshot.entities) });
  }
  return out;
}

function expectClientMatchesServer(client: ProtocolClient, server: MapServer, topics: string[]): void {
  const truth = serverState(server);
  for (const topic of topics) {
    const expected = truth.get(topic);
    expect(client.seqs.get(topic), `seq of ${topic}`).toBe(expected?.seq ?? 0);
    expect(client.state.get(topic) ?? new Map(), `state of ${topic}`).toEqual(
      expected?.entities ?? new Map(),
    );
  }
}

describe('map server over the real Kafka broker', () => {
  const prefix = `test.map.${uniqueSuffix()}.`;
  const aggregatesTopic = internalTopic('aggregates', prefix);
  const alertsTopic = internalTopic('alerts', prefix);
  const kafka = createKafka(testEnv, 'map-server-test');
  let producer: KafkaJS.Producer;
  let server: MapServer;
  let published = 0;
  const city = new SyntheticCity({ vehicles: 3000, cells: 800, seed: 7, incidentRate: 0.5 });
  let clock = Date.now();

  async function publishTicks(n: number, source = city, pauseMs = 0): Promise<void> {
    for (let i = 0; i < n; i += 1) {
      if (pauseMs > 0 && i > 0) await new Promise((r) => setTimeout(r, pauseMs));
      clock += 1000;
      const messages: AggregateMessage[] = source.tick(clock);
      await publishAggregates(producer, aggregatesTopic, messages);
      published += messages.length;
    }
  }

  async function consumedAll(): Promise<void> {
    await waitFor(async () => (await total(server.metrics.aggregates)) >= published, 60_000, 'consumption');
    // One more tick so that the last changes are flushed.
    await new Promise((r) => setTimeout(r, server.hub.options.tickMs * 2 + 50));
  }

  beforeAll(async () => {
    producer = kafka.producer({ 'linger.ms': 5 });
    await producer.connect();
    server = await startMapServer({
      env: testEnv,
      token: TOKEN,
      port: 0,
      topicPrefix: prefix,
      history: false,
      fanout: {
        tickMs: 100,
        highWaterBytes: 128 * 1024,
        lowWaterBytes: 32 * 1024,
        // Long enough for a client of this test process to drain megabytes of backlog once it reads again
        // (with 4 s, a CI run cut the draining client off before its catch-up).
        slowClientTimeoutMs: 10_000,
        maxBufferedBytes: 8 * 1024 * 1024,
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [aggregatesTopic, alertsTopic] }).catch(() => {});
    await admin.disconnect();
  });

  it('refuses a missing token and a foreign origin; serves /health and /metrics', async () => {
    await expect(ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws`)).rejects.toThrow(/401/);
    await expect(
      ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=wrong-token`),
    ).rejects.toThrow(/401/);
    await expect(
      ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`, {
        origin: 'http://evil.example',
      }),
    ).rejects.toThrow(/403/);
    const viaProtocol = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws`, {
      protocols: ['city-ops.v1', `city-ops.token.${TOKEN}`],
      origin: server.url,
    });
    expect(viaProtocol.ws.protocol).toBe('city-ops.v1');
    viaProtocol.close();

    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', epoch: server.hub.epoch });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/city_map_rejected_total\{reason="token"\} 2/);
    expect(metrics).toMatch(/city_map_rejected_total\{reason="origin"\} 1/);
  });

  it('snapshot + deltas give every client exactly the server state, whenever it joined', async () => {
    const early = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    early.subscribe(ALL_LAYERS);
    await early.until(() => early.of('subscribed').length === 1);
    await publishTicks(3);
    await consumedAll();
    const late = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    late.subscribe(ALL_LAYERS);
    await late.until(() => late.of('subscribed').length === 1);
    await publishTicks(3);
    await consumedAll();

    for (const client of [early, late]) {
      const topics = (client.of('subscribed')[0] as { topics: string[] }).topics;
      expect(topics).toContain('vehicles/440304');
      expect(topics.some((t) => t.startsWith('cells/'))).toBe(true);
      expect(client.gaps).toEqual([]);
      expectClientMatchesServer(client, server, topics);
    }
    // The late one started from snapshots at a later seq and still ends equal.
    const lateSnapshot = late
      .of('snapshot')
      .find((m) => (m as { topic: string }).topic === 'vehicles/440304');
    expect((lateSnapshot as { seq: number }).seq).toBeGreaterThan(0);
    const vehicles = [...early.state.entries()]
      .filter(([t]) => t.startsWith('vehicles/'))
      .reduce((n, [, m]) => n + m.size, 0);
    expect(vehicles).toBe(3000);
    early.close();
    late.close();
  });

  it('resumes after a gap from the last seq (catch-up), and sends snapshots for another epoch', async () => {
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    client.subscribe(['vehicles', 'districts'], { area: { districts: ['440304', '440305'] } });
    await client.until(() => client.seqs.has('vehicles/440304') && client.seqs.has('districts'));
    await publishTicks(1);
    await consumedAll();
    client.close();
    const before = client.seqs.get('vehicles/440304')!;
    await publishTicks(3); // missed while away
    await consumedAll();

    const resumed = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    for (const [topic, seq] of client.seqs) resumed.seqs.set(topic, seq);
    for (const [topic, state] of client.state) resumed.state.set(topic, new Map(state));
    resumed.subscribe(['vehicles', 'districts'], { area: { districts: ['440304', '440305'] } }, client.epoch);
    await resumed.until(() => resumed.of('subscribed').length === 1);
    await consumedAll();
    const catchups = resumed.of('catchup') as Array<{ topic: string; from: number; seq: number }>;
    expect(catchups.find((c) => c.topic === 'vehicles/440304')).toMatchObject({ from: before });
    expect(resumed.of('snapshot')).toHaveLength(0);
    expect(resumed.gaps).toEqual([]);
    expectClientMatchesServer(resumed, server, ['vehicles/440304', 'vehicles/440305', 'districts']);

    const otherEpoch = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    for (const [topic, seq] of client.seqs) otherEpoch.seqs.set(topic, seq);
    otherEpoch.subscribe(['districts'], {}, 'an-old-epoch');
    await otherEpoch.until(() => otherEpoch.of('snapshot').length === 1);
    expectClientMatchesServer(otherEpoch, server, ['districts']);
    resumed.close();
    otherEpoch.close();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/city_map_resumes_total\{outcome="catchup"\} [1-9]/);
  });

  it('a client that stops reading does not delay another, is caught up or cut off, and stays bounded', async () => {
    const heavy = new SyntheticCity({ vehicles: 20_000, cells: 3000, seed: 11 });
    const fast = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    const slow = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    fast.subscribe(['vehicles', 'cells', 'districts']);
    slow.subscribe(['vehicles', 'cells', 'districts']);
    await fast.until(() => fast.of('subscribed').length === 1);
    await slow.until(() => slow.of('subscribed').length === 1);
    // The slow client stops reading from its socket: the kernel buffers fill, then the server's.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const slowEventsBefore = await total(server.metrics.slowEvents);
    const fastStart = fast.messages.length;

    // Paced like the engine (one tick of the city every 500 ms), so that this one process (server,
    // publisher and both clients) is not simply saturated by a burst.
    await publishTicks(10, heavy, 500);
    await consumedAll();
    await waitFor(
      async () => (await total(server.metrics.slowEvents)) > slowEventsBefore,
      30_000,
      'slow event',
    );
    // The fast client keeps getting every delta in order, each soon after the server emitted it.
    const deltas = fast.messages
      .slice(fastStart)
      .filter((m) => m.message.type === 'delta')
      .map((m) => m.at - (m.message as { t: number }).t)
      .sort((a, b) => a - b);
    expect(deltas.length).toBeGreaterThan(8);
    const p99 = deltas[Math.floor(deltas.length * 0.99)]!;
    expect(p99).toBeLessThan(1000);
    expect(fast.gaps).toEqual([]);
    expectClientMatchesServer(fast, server, ['vehicles/440304', 'cells/9/440304', 'districts']);

    // The slow one is skipped (latest value wins) and, still not reading, cut off after the timeout.
    expect(await total(server.metrics.deltasSkipped)).toBeGreaterThan(0);
    const cutOff = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return /city_map_disconnects_total\{reason="(slow_consumer|buffer_limit)"\} [1-9]/.test(text);
    };
    await waitFor(cutOff, 30_000, 'slow client disconnect');
    // Reading again, it sees the connection closed (a paused socket does not even see the FIN).
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => slow.closed !== undefined, 30_000, 'slow client sees the close');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const maxBuffer = Number(/city_map_client_buffer_max_bytes (\d+)/.exec(metrics)?.[1] ?? Number.NaN);
    expect(maxBuffer).toBeLessThanOrEqual(server.hub.options.maxBufferedBytes);
    fast.close();
  });

  it('a client that falls behind then drains gets one compacted catch-up and continues in order', async () => {
    const heavy = new SyntheticCity({ vehicles: 20_000, cells: 1000, seed: 12 });
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    client.subscribe(['vehicles']);
    await client.until(() => client.of('subscribed').length === 1);
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const before = await total(server.metrics.catchups);
    const slowBefore = await total(server.metrics.slowEvents);
    // Until the server sees the client behind: the kernel's socket buffers take a few MiB first, how many
    // depends on the machine (five fixed rounds were not always enough in CI).
    for (let round = 0; round < 40 && (await total(server.metrics.slowEvents)) <= slowBefore; round += 1) {
      await publishTicks(1, heavy);
      await consumedAll();
    }
    await waitFor(async () => (await total(server.metrics.slowEvents)) > slowBefore, 30_000, 'slow event');
    socket.resume();
    await waitFor(
      async () => (await total(server.metrics.catchups)) > before || client.closed !== undefined,
      30_000,
      'catch-up',
    );
    expect(client.closed, 'cut off while draining').toBeUndefined();
    await consumedAll();
    await client.until(() => client.of('catchup').length > 0);
    expect(client.gaps).toEqual([]);
    expect(client.closed).toBeUndefined();
    expectClientMatchesServer(client, server, ['vehicles/440304', 'vehicles/440307']);
    client.close();
  });

  it('reads alert CloudEvents from the alerts topic into the alert feed', async () => {
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    client.subscribe(['alerts']);
    await client.until(() => client.of('snapshot').length === 1);
    await producer.send({
      topic: alertsTopic,
      messages: [
        {
          key: 'A-1',
          value: JSON.stringify({
            specversion: '1.0',
            id: 'ev-1',
            source: 'city-ops/alerts',
            type: 'city.alert.firing',
            time: new Date().toISOString(),
            data: {
              alert_id: 'A-1',
              rule: 'congestion',
              severity: 'high',
              district: '440304',
              title_en: 'Jam',
            },
          }),
        },
        { key: 'junk', value: 'not an event' },
      ],
    });
    await client.until(() => client.state.get('alerts')?.has('A-1') === true);
    expect(client.state.get('alerts')?.get('A-1')).toMatchObject({
      state: 'firing',
      district: '440304',
      title_zh: null,
    });
    await waitFor(async () => (await total(server.metrics.invalidMessages)) >= 1, 10_000, 'invalid counted');
    client.close();
  });

  it('a restarted server rebuilds its state from the topic and reconnecting clients get fresh snapshots', async () => {
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    client.subscribe(['vehicles', 'districts']);
    await client.until(() => client.seqs.has('districts'));
    const oldEpoch = client.epoch!;
    const port = server.port;
    await server.close();
    await client.until(() => client.closed !== undefined);
    expect(client.closed?.code).toBe(1001);

    // The same port, as a restarted deployment would use (this may wait for TIME_WAIT, see listen()).
    server = await startMapServer({
      env: testEnv,
      token: TOKEN,
      port,
      topicPrefix: prefix,
      history: false,
      fanout: { tickMs: 100 },
    });
    published = 0; // the new server counts from zero: wait until it has re-read what the topic holds
    await waitFor(async () => (await total(server.metrics.aggregates)) > 0, 60_000, 'rebuild');
    const again = await ProtocolClient.connect(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
    expect(again.epoch).not.toBe(oldEpoch);
    for (const [topic, seq] of client.seqs) again.seqs.set(topic, seq);
    again.subscribe(['vehicles', 'districts'], {}, oldEpoch);
    await again.until(() => again.of('snapshot').length >= 9);
    await new Promise((r) => setTimeout(r, 3000));
    const vehicles = [...again.state.entries()]
      .filter(([t]) => t.startsWith('vehicles/'))
      .reduce((n, [, m]) => n + m.size, 0);
    expect(vehicles).toBeGreaterThanOrEqual(3000);
    expect(again.gaps).toEqual([]);
    again.close();
  });
});
