import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertTopics } from '../../../engine/alerts/alertTopics.ts';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { allTopics } from '../../../engine/contract/topics.ts';
import { type CityOpsProcess, spawnCityOps } from '../../helpers/cityOpsProcess.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { ProtocolClient } from '../server/protocolClient.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `npm start` (city-ops quickstart) on the real stack, in topics and databases of its own. */
describe('the quick start: every service in a process of its own, started again when it dies', () => {
  const id = uniqueSuffix();
  const prefix = `test.qs.${id}.`;
  const db = `t_qs_${id}`;
  const token = 'quickstart-test-token';
  let quickstart: CityOpsProcess;
  const ports = { map: 0, metrics: 0, alerts: 0 };
  const pidOf = async (name: string, after = 0) => {
    for (;;) {
      const pids = quickstart.output
        .map((l) => new RegExp(`quickstart: ${name} started \\(pid (\\d+)\\)`).exec(l)?.[1])
        .filter((p): p is string => p !== undefined)
        .map(Number);
      if (pids.length > after) return pids[after]!;
      await quickstart.line(new RegExp(`${name} started`), 60_000);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    ports.map = await freePort();
    ports.metrics = await freePort();
    ports.alerts = await freePort();
    quickstart = spawnCityOps(
      [
        'quickstart',
        '--port',
        String(ports.map),
        '--metrics-port',
        String(ports.metrics),
        '--alerts-port',
        String(ports.alerts),
      ],
      {
        CITY_OPS_TOPIC_PREFIX: prefix,
        CLICKHOUSE_DATABASE: db,
        CLICKHOUSE_RESTRICTED_DATABASE: `${db}_restricted`,
        CITY_OPS_MAP_TOKEN: token,
        LOG_LEVEL: 'warn',
      },
    );
    await quickstart.line(/city-ops is running\./, 180_000);
  });
  afterAll(async () => {
    if (quickstart?.child.exitCode === null) quickstart.child.kill('SIGKILL');
    const admin = createKafka(testEnv, 'quickstart-cleanup').admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: [...allTopics(prefix), ...Object.values(alertTopics(prefix))] })
      .catch(() => {});
    await admin.disconnect();
    const { createClickHouse } = await import('../../../engine/connectors/clickhouse/client.ts');
    const clickhouse = createClickHouse(testEnv);
    for (const name of [db, `${db}_restricted`])
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${name}` });
    await clickhouse.close();
  });

  it('prints the map link with the token in its fragment, and live vehicles reach the map', async () => {
    expect(quickstart.output.join('\n')).toContain(`http://127.0.0.1:${ports.map}/#token=${token}`);
    let client: ProtocolClient | undefined;
    for (let attempt = 0; !client; attempt += 1) {
      client = await ProtocolClient.connect(`ws://127.0.0.1:${ports.map}/ws?token=${token}`).catch(
        async (error) => {
          if (attempt > 120) throw error;
          await new Promise((r) => setTimeout(r, 500));
          return undefined;
        },
      );
    }
    client.subscribe(['vehicles', 'districts']);
    await client.until(
      () => [...client.state.entries()].some(([t, m]) => t.startsWith('vehicles/') && m.size > 0),
      120_000,
    );
    client.close();
    expect((await fetch(`http://127.0.0.1:${ports.metrics}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.alerts}/health`)).status).toBe(200);
  });

  it('starts the map server again after a SIGKILL, and the engine goes on', async () => {
    const map = await pidOf('map');
    const engine = await pidOf('engine');
    process.kill(map, 'SIGKILL');
    await quickstart.line(/quickstart: map exited \(SIGKILL\)/, 30_000);
    const again = await pidOf('map', 1);
    expect(again).not.toBe(map);
    expect(alive(engine)).toBe(true);
    const deadline = Date.now() + 120_000;
    while ((await fetch(`http://127.0.0.1:${ports.map}/health`).catch(() => undefined))?.status !== 200) {
      if (Date.now() > deadline)
        throw new Error(`the map did not come back: ${quickstart.output.join('\n')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  it('stops every service on Ctrl+C', async () => {
    const pids = await Promise.all(['engine', 'simulator', 'alerts'].map((name) => pidOf(name)));
    pids.push(await pidOf('map', 1));
    quickstart.child.kill('SIGINT');
    expect(await quickstart.exited).toEqual({ code: 0, signal: null });
    expect(pids.filter(alive)).toEqual([]);
  });
});
