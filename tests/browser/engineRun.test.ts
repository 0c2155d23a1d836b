import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../engine/config/environment.ts';
import { createClickHouse } from '../../engine/connectors/clickhouse/client.ts';
import { queryHistory } from '../../engine/server/historyQuery.ts';
import { type MapServer, startMapServer } from '../../engine/server/mapServer.ts';
import {
  ARTIFACTS,
  cleanupRun,
  type EngineProcess,
  type EngineRun,
  prepareRun,
  startEngine,
  stopEngine,
} from '../helpers/engineHarness.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, type CityOpsPage } from './chromium.ts';

const TOKEN = 'engine-run-token-16';

/**
 * The whole path with the real pieces: `city-ops simulate --live` -> Kafka -> `city-ops run` (the engine)
 * -> city.aggregates -> the map server -> the page; and the engine's ClickHouse tables -> the history.
 */
describe('the live map over a real simulator and engine run', () => {
  let run: EngineRun;
  let engine: EngineProcess;
  let simulator: ChildProcess;
  let server: MapServer;
  let browser: Browser;
  let page: Page;
  const external: string[] = [];

  beforeAll(async () => {
    await build({ configFile: resolve(PROJECT_ROOT, 'viz', 'vite.config.ts'), logLevel: 'error' });
    run = await prepareRun('map');
    engine = startEngine(run);
    simulator = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin', 'city-ops.mjs'),
        'simulate',
        '--live',
        '--rate',
        '300',
        '--duration',
        '10m',
        '--quiet',
      ],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CITY_OPS_TOPIC_PREFIX: run.env.CITY_OPS_TOPIC_PREFIX, LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      },
    );
    server = await startMapServer({
      env: run.env,
      token: TOKEN,
      port: 0,
      // The run's own database, which the analyst may not read: the engine's user reads it here.
      history: { client: createClickHouse(run.env, 'engine'), tables: { database: run.db } },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol === 'data:' || url.protocol === 'blob:') return;
      if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') external.push(request.url());
    });
  });

  afterAll(async () => {
    simulator?.kill('SIGTERM');
    await browser?.close();
    await server?.close();
    if (engine) await stopEngine(engine);
    if (run) await cleanupRun(run);
  });

  it('shows the engine aggregates on the page and replays its ClickHouse history', async () => {
    await page.goto(`${server.url}/#token=${TOKEN}`);
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, {
      timeout: 60_000,
    });
    const seen = await page.waitForFunction(
      () => {
        const o = (window as unknown as { __cityOps: CityOpsPage }).__cityOps;
        const s = o.store;
        const ok =
          document.body.dataset['connection'] === 'live' &&
          s.vehicles.count > 0 &&
          s.cellList().length > 0 &&
          s.districts.size > 0 &&
          s.status.size === 3;
        return ok && { vehicles: s.vehicles.count, cells: s.cellList().length, districts: s.districts.size };
      },
      undefined,
      { timeout: 240_000, polling: 1000 },
    );
    const counts = (await seen.jsonValue()) as { vehicles: number; cells: number; districts: number };
    expect(counts.vehicles).toBeGreaterThan(0);
    expect(counts.districts).toBeGreaterThan(0);
    // Freshness comes from the engine's watermarks: a live simulation is seconds behind, not hours.
    const behind = await page.evaluate(() =>
      (window as unknown as { __cityOps: CityOpsPage }).__cityOps.store.secondsBehind(),
    );
    expect(behind).not.toBeNull();
    expect(behind!).toBeLessThan(120);
    expect(external).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'live-map-engine.png'), await page.screenshot({ type: 'png' }));

    // The history query runs against the engine's real tables (their real columns), as soon as a minute closed.
    const clickhouse = createClickHouse(run.env, 'engine');
    try {
      const deadline = Date.now() + 150_000;
      let history = await queryHistory(clickhouse, { ...defaultTables(), database: run.db }, { minutes: 15 });
      while (history.districtMinute.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5000));
        history = await queryHistory(clickhouse, { ...defaultTables(), database: run.db }, { minutes: 15 });
      }
      expect(Object.values(history.sources).every((s) => s.available)).toBe(true);
      expect(history.districtMinute.length).toBeGreaterThan(0);
    } finally {
      await clickhouse.close();
    }
  });
});

function defaultTables() {
  return {
    districtMinute: 'district_minute',
    districtPulse: 'district_pulse',
    incidentImpact: 'incident_impact',
  };
}
