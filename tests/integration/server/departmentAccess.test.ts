import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDepartmentToken } from '../../../engine/access/departmentTokens.ts';
import { GrantStore } from '../../../engine/access/grantStore.ts';
import { GrantsCache } from '../../../engine/access/grantsCache.ts';
import { tokensFromFile } from '../../../engine/access/mapAccess.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { grants as grantsTable } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import { createTable } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { type MapServer, startMapServer } from '../../../engine/server/mapServer.ts';
import type { DeltaMessage, ErrorMessage } from '../../../engine/server/protocol.ts';
import { SyntheticCity } from '../../../engine/server/syntheticCity.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { ProtocolClient } from './protocolClient.ts';

const OPERATOR = 'operator-token-of-16ch';

/**
 * The map's exits judged per department (issue 16): grants recorded in ClickHouse, read back by the
 * server's cache, applied to subscriptions, and withdrawn on revocation and expiry.
 */
describe('department access to the live map (grants in ClickHouse)', async () => {
  const { catalogue } = await loadCatalogue();
  const engine = createClickHouse(testEnv, 'engine');
  const database = `test_access_${uniqueSuffix()}`;
  const store = new GrantStore(engine, database);
  const cache = new GrantsCache(() => store.current(), { refreshMs: 300 });
  const tokensPath = join(mkdtempSync(join(tmpdir(), 'city-ops-access-')), 'department-tokens.json');
  const city = new SyntheticCity({ vehicles: 400, cells: 100, seed: 3 });
  let server: MapServer;
  let emergency: string;
  let health: string;

  const feed = (ticks = 1) => {
    for (let i = 0; i < ticks; i += 1) {
      const now = Date.now();
      for (const message of city.tick(now)) server.apply(message, now);
    }
    server.hub.flushNow();
  };
  const errors = (client: ProtocolClient) => client.of('error').map((m) => (m as ErrorMessage).message);
  const vehicleTopics = (client: ProtocolClient) =>
    [...client.state.keys()].filter((t) => t.startsWith('vehicles/'));

  beforeAll(async () => {
    await engine.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await engine.command({ query: createTable(grantsTable, { city: database, restricted: database }) });
    await cache.start();
    emergency = await issueDepartmentToken(tokensPath, catalogue, 'emergency');
    health = await issueDepartmentToken(tokensPath, catalogue, 'health');
    server = await startMapServer({
      env: testEnv,
      token: OPERATOR,
      port: 0,
      kafka: false,
      history: false,
      fanout: { tickMs: 50 },
      access: {
        tokens: tokensFromFile(tokensPath),
        policy: { catalogue, grants: () => cache.grants() },
        recheckMs: 200,
      },
    });
    feed(2);
  });

  afterAll(async () => {
    cache.stop();
    await server?.close();
    await engine.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await engine.close();
  });

  it('refuses an unknown token and lets the operator see every layer', async () => {
    await expect(
      ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=nobody-knows-this`),
    ).rejects.toThrow(/HTTP 401/);
    const operator = await ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${OPERATOR}`);
    operator.subscribe(['vehicles', 'districts', 'incidents']);
    await operator.until(() => operator.of('subscribed').length === 1);
    expect(errors(operator)).toEqual([]);
    expect(vehicleTopics(operator).length).toBeGreaterThan(0);
    operator.close();
  });

  it('gives a department without a grant no conditional layer, and says why', async () => {
    const client = await ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${health}`);
    client.subscribe(['vehicles', 'incidents', 'districts', 'cells', 'status']);
    await client.until(() => client.of('subscribed').length === 1);
    expect(errors(client).join('\n')).toMatch(/vehicles\/\d+.*\(map\.vehicles: no live grant\)/);
    expect(errors(client).join('\n')).toMatch(/incidents\/\d+.*\(map\.incidents: no live grant\)/);
    const topics = (client.of('subscribed')[0] as { topics: string[] }).topics;
    expect(topics.some((t) => t.startsWith('vehicles/') || t.startsWith('incidents/'))).toBe(false);
    expect(topics).toContain('districts');
    feed(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(vehicleTopics(client)).toEqual([]);
    client.close();
  });

  it('opens a layer under a live grant, and stops it once the grant is revoked', async () => {
    const client = await ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${emergency}`);
    await store.record(
      catalogue,
      {
        id: `g-${uniqueSuffix()}`,
        department: 'emergency',
        resource: 'map.vehicles',
        items: ['*'],
        purpose: 'evacuation routing',
        approved_by: 'transport: duty officer',
        valid_from: new Date(Date.now() - 60_000).toISOString(),
        valid_until: new Date(Date.now() + 3_600_000).toISOString(),
      },
      'test',
    );
    await cache.refresh();
    client.subscribe(['vehicles']);
    await client.until(() => vehicleTopics(client).length > 0);
    expect(errors(client)).toEqual([]);

    const [grant] = (await store.current()).filter((g) => g.department === 'emergency');
    const revokedAt = Date.now();
    await store.revoke(grant!.id, revokedAt, 'test');
    await client.until(() => errors(client).some((e) => /no longer allowed: vehicles\//.test(e)), 60_000);
    // The issue's bound; here the intervals are short (300 ms reads, 200 ms checks), so it is far inside.
    expect(Date.now() - revokedAt).toBeLessThan(60_000);
    const gotUntil = client.messages.length;
    feed(3);
    await new Promise((r) => setTimeout(r, 300));
    const after = client.messages.slice(gotUntil).map((m) => m.message);
    expect(after.filter((m) => m.type === 'delta' || m.type === 'snapshot')).toEqual([]);
    client.close();
  });

  it('cuts a layer to the items a grant names, and sends it whole once a grant names every item', async () => {
    const grantOf = (items: string[]) => ({
      id: `g-${uniqueSuffix()}`,
      department: 'health',
      resource: 'map.vehicles',
      items,
      purpose: 'ambulance dispatch',
      approved_by: 'transport: duty officer',
      valid_from: new Date(Date.now() - 60_000).toISOString(),
      valid_until: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const connect = () => ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${health}`);
    const keyless = grantOf(['mode', 'district']);
    await store.record(catalogue, keyless, 'test');
    await cache.refresh();
    const refused = await connect();
    refused.subscribe(['vehicles']);
    await refused.until(() => refused.of('subscribed').length === 1);
    expect(errors(refused).join('\n')).toMatch(
      /map\.vehicles: the grant does not name vehicle, which every frame shows/,
    );
    refused.close();

    const part = grantOf(['vehicle', 'mode', 'district']);
    await store.record(catalogue, part, 'test');
    await cache.refresh();
    const client = await connect();
    client.subscribe(['vehicles']);
    await client.until(() => vehicleTopics(client).length > 0);
    feed(2);
    await client.until(() => client.of('delta').length > 0);
    expect(errors(client)).toEqual([]);
    const held = vehicleTopics(client).flatMap((t) => [...client.state.get(t)!.values()]);
    const sent = client.of('delta').flatMap((m) => (m as DeltaMessage).up.map(([, value]) => value));
    expect(held.length).toBeGreaterThan(0);
    expect(sent.length).toBeGreaterThan(0);
    // [lon, lat, mode, speed_kmh, ts]: the mode only, in snapshots and deltas alike.
    for (const value of [...held, ...sent])
      expect(value).toEqual([null, null, expect.any(String), null, null]);
    // A department resuming a layer that can be cut gets snapshots, not a catch-up: its old state may have
    // been sent in another cut.
    const resumed = await connect();
    for (const [topic, seq] of client.seqs) resumed.seqs.set(topic, seq);
    resumed.subscribe(['vehicles'], {}, server.hub.epoch);
    await resumed.until(() => resumed.of('subscribed').length === 1);
    const topics = (resumed.of('subscribed')[0] as { topics: string[] }).topics;
    await resumed.until(() => resumed.of('snapshot').length === topics.length);
    expect(resumed.of('catchup')).toEqual([]);
    resumed.close();

    const whole = grantOf(['*']);
    await store.record(catalogue, whole, 'test');
    await cache.refresh();
    const positioned = () =>
      vehicleTopics(client).some((t) =>
        [...client.state.get(t)!.values()].some((v) => (v as unknown[])[0] !== null),
      );
    await client.until(positioned, 30_000);
    for (const g of [keyless, part, whole]) await store.revoke(g.id, Date.now(), 'test');
    await cache.refresh();
    client.close();
  });

  it('stops a layer when its grant expires, without any new read', async () => {
    const client = await ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${health}`);
    // Grants are kept to the second: this one ends at the second boundary 5-6 s from now.
    const until = Math.ceil((Date.now() + 5_000) / 1000) * 1000;
    await store.record(
      catalogue,
      {
        id: `g-${uniqueSuffix()}`,
        department: 'health',
        resource: 'map.vehicles',
        items: ['*'],
        purpose: 'ambulance dispatch',
        approved_by: 'transport: duty officer',
        valid_from: new Date(Date.now() - 60_000).toISOString(),
        valid_until: new Date(until).toISOString(),
      },
      'test',
    );
    await cache.refresh();
    cache.stop(); // no read from here on: the expiry alone must end the delivery
    client.subscribe(['vehicles']);
    await client.until(() => vehicleTopics(client).length > 0);
    await client.until(() => errors(client).some((e) => /no longer allowed: vehicles\//.test(e)), 60_000);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(Date.now() - until).toBeLessThan(60_000);
    client.close();
  });

  it('closes the sessions of a token once the department is issued a new one', async () => {
    const client = await ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${emergency}`);
    client.subscribe(['districts']);
    await client.until(() => client.of('subscribed').length === 1);
    emergency = await issueDepartmentToken(tokensPath, catalogue, 'emergency');
    await client.until(() => client.closed !== undefined, 60_000);
    expect(client.closed).toEqual({ code: 1008, reason: 'credential withdrawn' });
    await expect(
      ProtocolClient.connect(`${server.url.replace('http', 'ws')}/ws?token=${emergency}`).then((c) =>
        c.close(),
      ),
    ).resolves.toBeUndefined();
  });

  it('skips a stored row that is not a valid grant, and keeps the others', async () => {
    const before = (await store.current()).length;
    await engine.insert({
      table: `${database}.${grantsTable.name}`,
      format: 'JSONEachRow',
      values: [
        {
          id: 'g-broken',
          action: 'grant',
          department: 'health',
          resource: 'map.vehicles',
          items: ['*'],
          purpose: 'x',
          approved_by: 'y',
          valid_from: 1_800_000_000,
          valid_until: 1_800_000_000,
          revoked_at: null,
          recorded_by: 'hand',
          recorded_at_ms: Date.now(),
        },
      ],
    });
    const bad: string[] = [];
    const watched = new GrantStore(engine, database, (id) => bad.push(id));
    expect((await watched.current()).length).toBe(before);
    expect(bad).toEqual(['g-broken']);
  });
});
