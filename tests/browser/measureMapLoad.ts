/**
 * Measures the page under the load: 50 000 vehicles and 10 000 H3 hexagons, all updated every
 * second. Not a test (speed is not asserted by tests): run it, read test-artifacts/map-load.json, and
 * docs/map.md quotes the numbers.
 *
 *   node --import tsx tests/browser/measureMapLoad.ts
 *
 * The map server runs in this process without Kafka (`kafka: false`), fed one tick of a synthetic city per
 * second (`server.apply`), so only the page and the server's fan-out are measured. Chromium is Debian's,
 * headless, WebGL in software (SwiftShader): the GPU side of these numbers is a floor, not what a wall
 * display with a GPU does. What is GPU-independent: the main-thread work per second to take the data in
 * (parse + apply to the columnar buffers) and to rebuild the layers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { loadEnvironment, PROJECT_ROOT } from '../../engine/config/environment.ts';
import { startMapServer } from '../../engine/server/mapServer.ts';
import { SyntheticCity } from '../../engine/server/syntheticCity.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, type CityOpsPage } from './chromium.ts';

const VEHICLES = Number(process.env['MAP_LOAD_VEHICLES'] ?? 50_000);
const CELLS = Number(process.env['MAP_LOAD_CELLS'] ?? 10_000);
const SECONDS = Number(process.env['MAP_LOAD_SECONDS'] ?? 30);
const TOKEN = 'map-load-token';

await build({ configFile: resolve(PROJECT_ROOT, 'viz', 'vite.config.ts'), logLevel: 'error' });
const server = await startMapServer({
  env: loadEnvironment(),
  token: TOKEN,
  port: 0,
  kafka: false,
  history: false,
});
const city = new SyntheticCity({ vehicles: VEHICLES, cells: CELLS, resolution: 9, seed: 9 });
const feed = setInterval(() => {
  const now = Date.now();
  for (const message of city.tick(now)) server.apply(message, now);
}, 1000);
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });

// Zoomed so that the finest resolution (every hexagon) is subscribed, over the whole city.
await page.goto(`${server.url}/?token=${TOKEN}`);
await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, { timeout: 120_000 });
await page.evaluate(() => {
  const o = (window as unknown as { __cityOps: CityOpsPage }).__cityOps;
  o.map.jumpTo({ center: [114.06, 22.62], zoom: 12.1 });
});
await page.waitForFunction(
  ([v, c]) => {
    const o = (window as unknown as { __cityOps: CityOpsPage }).__cityOps;
    return (
      o.store.vehicles.count >= (v as number) * 0.99 && o.store.cellList().length >= (c as number) * 0.99
    );
  },
  [VEHICLES, CELLS],
  { timeout: 300_000, polling: 1000 },
);

const sample = () =>
  page.evaluate(() => {
    const o = (window as unknown as { __cityOps: CityOpsPage }).__cityOps;
    const deck = (o as unknown as { overlay: { _deck?: { metrics?: Record<string, number> } } }).overlay
      ._deck;
    return {
      t: performance.now(),
      perf: { ...o.perf, errors: o.perf.errors.length },
      stats: { ...o.client.stats },
      vehicles: o.store.vehicles.count,
      cells: o.store.cellList().length,
      deck: deck?.metrics ? { ...deck.metrics } : null,
      heapMiB:
        ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) /
        2 ** 20,
    };
  });
const a = await sample();
await page.waitForTimeout(SECONDS * 1000);
const b = await sample();
const seconds = (b.t - a.t) / 1000;
const per = (x: number, y: number) => (y - x) / seconds;
const result = {
  measurement: 'map page under load',
  command: 'node --import tsx tests/browser/measureMapLoad.ts',
  date: new Date().toISOString(),
  browser: `${browser.version()} headless, ${CHROMIUM_ARGS.join(' ')}`,
  viewport: '1600x900',
  load: { vehicles: b.vehicles, hexagons: b.cells, updatesPerSecond: 1 },
  seconds,
  mainThreadPerSecondMs: {
    receiveAndApply: per(a.stats.applyMs, b.stats.applyMs),
    layerBuild: per(a.perf.layerBuildMs, b.perf.layerBuildMs),
    longTasks: per(a.perf.longTaskMs, b.perf.longTaskMs),
  },
  bytesPerSecond: per(a.stats.bytes, b.stats.bytes),
  deltasPerSecond: per(a.stats.deltas, b.stats.deltas),
  framesPerSecond: {
    page: per(a.perf.frames, b.perf.frames),
    deck: per(a.perf.deckFrames, b.perf.deckFrames),
  },
  deckMetrics: b.deck,
  jsHeapMiB: b.heapMiB,
  errors: b.perf.errors,
};
mkdirSync(resolve(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
writeFileSync(
  resolve(PROJECT_ROOT, 'test-artifacts', 'map-load.json'),
  `${JSON.stringify(result, null, 2)}\n`,
);
await page.screenshot({ path: resolve(PROJECT_ROOT, 'test-artifacts', 'map-load.png') });
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
clearInterval(feed);
await browser.close();
await server.close();
process.exit(0);
