import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeLedger } from '../../../engine/access/exchangeLedger.ts';
import type { LedgerEntry } from '../../../engine/access/ledgerChain.ts';
import { verifyLedger } from '../../../engine/access/ledgerVerify.ts';
import { mapLedger } from '../../../engine/access/mapLedger.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { createClickHouse, selectRows } from '../../../engine/connectors/clickhouse/client.ts';
import { exchangeLedger } from '../../../engine/connectors/clickhouse/tables/exchange.ts';
import { createTable } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { type MapServer, startMapServer } from '../../../engine/server/mapServer.ts';
import { SyntheticCity } from '../../../engine/server/syntheticCity.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';
import { ProtocolClient } from './protocolClient.ts';

const OPERATOR = 'operator-token-ledger';
const KEY = Buffer.alloc(32, 1);

/** A delivery to record, `change` applied. */
function delivery(change: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    consumer: 'emergency',
    provider: 'operations-centre',
    resource: 'joined.district_pulse',
    exit: 'history',
    items: ['district'],
    records: 1,
    bytes: 10,
    event_ms: 0,
    ingest_ms: 0,
    delivered_from_ms: Date.now(),
    delivered_to_ms: Date.now(),
    succeeded: true,
    fault_code: '',
    ...change,
  };
}
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const TOKENS = [
  { department: 'transport', sha256: sha256('transport-token-16ch'), issued_at: '2026-01-01T00:00:00Z' },
  { department: 'health', sha256: sha256('health-token-16chars'), issued_at: '2026-01-01T00:00:00Z' },
];

/** The exchange ledger on the real ClickHouse: what it counts, and that its chains verify and break. */
describe('the exchange ledger', async () => {
  const { catalogue } = await loadCatalogue();
  const engine = createClickHouse(testEnv, 'engine');
  const database = `test_ledger_${uniqueSuffix()}`;
  const table = `${database}.${exchangeLedger.name}`;
  const ledger = new ExchangeLedger(engine, database, 'map-server', { key: KEY });
  const policy = { catalogue, grants: () => [] };
  const city = new SyntheticCity({ vehicles: 300, cells: 100, seed: 5 });
  let server: MapServer;

  const mutationsDone = async () => {
    for (let i = 0; i < 100; i += 1) {
      const [row] = await selectRows<{ n: string }>(
        engine,
        `SELECT count() AS n FROM system.mutations WHERE database = '${database}' AND is_done = 0`,
      );
      if (row?.n === '0') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the mutation did not finish in 10 s');
  };

  beforeAll(async () => {
    await engine.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await engine.command({ query: createTable(exchangeLedger, { city: database, restricted: database }) });
    server = await startMapServer({
      env: testEnv,
      token: OPERATOR,
      port: 0,
      kafka: false,
      history: false,
      fanout: { tickMs: 50 },
      access: { tokens: () => TOKENS, policy },
      ledger: mapLedger(ledger, policy),
    });
  });

  afterAll(async () => {
    await server?.close();
    await engine.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await engine.close();
  });

  it('counts each consumer’s WebSocket frames and bytes as its receivers counted them', async () => {
    const ws = server.url.replace('http', 'ws');
    const clients = {
      transport: await ProtocolClient.connect(`${ws}/ws?token=transport-token-16ch`),
      health: await ProtocolClient.connect(`${ws}/ws?token=health-token-16chars`),
      'operations-centre': await ProtocolClient.connect(`${ws}/ws?token=${OPERATOR}`),
    };
    clients.transport.subscribe(['vehicles', 'districts']);
    clients.health.subscribe(['cells', 'vehicles']); // vehicles refused: no grant
    clients['operations-centre'].subscribe(['vehicles', 'cells', 'districts', 'status']);
    for (let tick = 0; tick < 5; tick += 1) {
      const now = Date.now();
      for (const message of city.tick(now)) server.apply(message, now);
      server.hub.flushNow();
      await new Promise((r) => setTimeout(r, 100));
    }
    // A pong comes after every frame sent before it: then each client has all it was sent.
    for (const client of Object.values(clients)) {
      client.send({ type: 'ping', t: 1 });
      await client.until(() => client.of('pong').length > 0);
      client.close();
    }
    await ledger.flush();
    const rows = await selectRows<{ consumer: string; resource: string; frames: string; bytes: string }>(
      engine,
      `SELECT consumer, resource, sum(records) AS frames, sum(bytes) AS bytes FROM ${table} FINAL
       WHERE exit = 'websocket' GROUP BY consumer, resource ORDER BY consumer, resource`,
    );
    for (const [consumer, client] of Object.entries(clients)) {
      const mine = rows.filter((r) => r.consumer === consumer);
      expect(client.frames, consumer).toBeGreaterThan(0);
      expect(
        mine.reduce((n, r) => n + Number(r.frames), 0),
        consumer,
      ).toBe(client.frames);
      expect(
        mine.reduce((n, r) => n + Number(r.bytes), 0),
        consumer,
      ).toBe(client.frameBytes);
    }
    expect(rows.filter((r) => r.consumer === 'health').map((r) => r.resource)).toEqual(['map.cells']);
    expect(rows.find((r) => r.consumer === 'transport' && r.resource === 'map.vehicles')).toBeDefined();
  });

  it('verifies, fails after one row is altered, and names the row', async () => {
    for (let i = 0; i < 3; i += 1) {
      ledger.record(
        delivery({ resource: 'joined.incident_impact', items: ['incident_id'], records: 10 + i, bytes: 100 }),
      );
      await ledger.flush();
    }
    const clean = await verifyLedger(engine, database, KEY);
    expect(clean.problems).toEqual([]);
    expect(clean.chains).toBe(4);
    await engine.command({
      query: `ALTER TABLE ${table} UPDATE records = 99 WHERE consumer = 'emergency' AND seq = 2`,
    });
    await mutationsDone();
    const broken = await verifyLedger(engine, database, KEY, 'emergency');
    expect(broken.problems).toEqual([
      'map-server/emergency seq 2: the row does not match its hash (altered)',
    ]);
  });

  it('goes on with its chains after a restart, and keeps rows it could not write through a stop', async () => {
    const restarted = new ExchangeLedger(engine, database, 'map-server', { key: KEY });
    const entry = delivery({ consumer: 'transport', resource: 'map.districts', exit: 'websocket' });
    restarted.record(entry);
    await restarted.flush();
    expect((await verifyLedger(engine, database, KEY, 'transport')).problems).toEqual([]);

    // ClickHouse cannot take the rows (here: the table is not there yet), then the writer stops.
    const later = `${database}_later`;
    const spoolPath = join(mkdtempSync(join(tmpdir(), 'city-ops-ledger-')), 'map-server.jsonl');
    const first = new ExchangeLedger(engine, later, 'map-server', { key: KEY, spoolPath });
    first.record(entry);
    first.count('health', 'map.cells', 'websocket', 50, () => ({
      provider: 'public-security',
      items: ['cell'],
    }));
    await first.flush();
    expect(first.pending).toBe(2);
    await first.stop();
    expect(existsSync(spoolPath)).toBe(true);
    // The next start, with the table there, writes them first, once, and the chains verify.
    await engine.command({ query: `CREATE DATABASE ${later}` });
    await engine.command({ query: createTable(exchangeLedger, { city: later, restricted: later }) });
    const second = new ExchangeLedger(engine, later, 'map-server', { key: KEY, spoolPath });
    second.record({ ...entry, records: 2 });
    await second.flush();
    expect(second.pending).toBe(0);
    expect(existsSync(spoolPath)).toBe(false);
    expect(await verifyLedger(engine, later, KEY)).toEqual({ chains: 2, rows: 3, problems: [] });
    await engine.command({ query: `DROP DATABASE ${later}` });
  });

  it('keeps chained rows through a stop while the table is away, and the chain goes on after them', async () => {
    const db = `${database}_rows`;
    await engine.command({ query: `CREATE DATABASE ${db}` });
    await engine.command({ query: createTable(exchangeLedger, { city: db, restricted: db }) });
    const spoolPath = join(mkdtempSync(join(tmpdir(), 'city-ops-ledger-')), 'map-server.jsonl');
    const entry = delivery();
    const first = new ExchangeLedger(engine, db, 'map-server', { key: KEY, spoolPath });
    first.record(entry);
    await first.flush(); // seq 1 written, the chain's head known
    await engine.command({ query: `DETACH TABLE ${db}.${exchangeLedger.name}` });
    first.record({ ...entry, records: 2 });
    await first.flush(); // seq 2 chained, not written
    expect(first.pending).toBe(1);
    await first.stop();
    expect(existsSync(spoolPath)).toBe(true);
    await engine.command({ query: `ATTACH TABLE ${db}.${exchangeLedger.name}` });
    const second = new ExchangeLedger(engine, db, 'map-server', { key: KEY, spoolPath });
    second.record({ ...entry, records: 3 });
    await second.flush();
    expect(second.pending).toBe(0);
    expect(await verifyLedger(engine, db, KEY)).toEqual({ chains: 1, rows: 3, problems: [] });
    const records = await selectRows<{ seq: string; records: string }>(
      engine,
      `SELECT seq, records FROM ${db}.${exchangeLedger.name} FINAL ORDER BY seq`,
    );
    expect(records.map((r) => [Number(r.seq), Number(r.records)])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    await engine.command({ query: `DROP DATABASE ${db}` });
  });
});
