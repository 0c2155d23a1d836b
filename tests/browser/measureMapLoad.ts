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
 * (parse + apply to the columnar buffers) and to rebuild the layers; it is measured twice: in the page,
 * and without rendering on V8 in this process (`dataPathPerSecondMs`, the page's own MapStore).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { loadEnvironment, PROJECT_ROOT } from '../../engine/config/environment.ts';
import { LiveState } from '../../engine/server/liveState.ts';
import { startMapServer } from '../../engine/server/mapServer.ts';
import { SyntheticCity } from '../../engine/server/syntheticCity.ts';
import { MapStore } from '../../viz/mapStore.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, type CityOpsPage } from './chromium.ts';

const VEHICLES = Number(process.env['MAP_LOAD_VEHICLES'] ?? 50_000);
const CELLS = Number(process.env['MAP_LOAD_CELLS'] ?? 10_000);
const SECONDS = Number(process.env['MAP_LOAD_SECONDS'] ?? 30);
const TOKEN = 'map-load-token-16ch';

/**
 * The page's data path without rendering, on V8 (Chrome's engine) in this process: one second of deltas
 * as the server serialises them, parsed and applied by the page's own MapStore (columnar vehicle buffer,
 * cell maps), plus the hexagon list the layer is built from. Median of 10 seconds after 3 of warm-up.
 */
function measureDataPath(): Record<string, number> {
  const feed = new SyntheticCity({ vehicles: VEHICLES, cells: CELLS, resolution: 9, seed: 9 });
  const state = new LiveState(
    ['440303', '440304', '440305', '440306', '440307', '440308', '440309', '440310'],
    {
      cellResolutions: [9],
    },
  );
  const store = new MapStore();
  const runs: Array<{ parse: number; apply: number; cellList: number; bytes: number }> = [];
  let clock = Date.now();
  for (let second = 0; second < 13; second += 1) {
    clock += 1000;
    for (const message of feed.tick(clock)) state.apply(message, clock);
    const payloads: string[] = [];
    state.flush(clock, (_topic, payload) => payloads.push(payload));
    if (second === 0)
      for (const topic of state.topics()) payloads.unshift(state.channel(topic).snapshot(clock));
    const t0 = performance.now();
    const messages = payloads.map(
      (p) => JSON.parse(p) as { type: string; topic: string; up?: []; rm?: []; entities?: [] },
    );
    const t1 = performance.now();
    for (const m of messages) {
      if (m.type === 'snapshot') store.apply(m.topic, m.entities ?? [], [], true);
      else store.apply(m.topic, m.up ?? [], m.rm ?? [], false);
    }
    const t2 = performance.now();
    const cells = store.cellList();
    const t3 = performance.now();
    if (second >= 3)
      runs.push({
        parse: t1 - t0,
        apply: t2 - t1,
        cellList: t3 - t2,
        bytes: payloads.reduce((n, p) => n + p.length, 0),
      });
    if (cells.length === 0) throw new Error('no cells');
  }
  const median = (k: keyof (typeof runs)[number]) =>
    runs.map((r) => r[k]).sort((a, b) => a - b)[runs.length >> 1]!;
  return {
    vehicles: store.vehicles.count,
    hexagons: store.cellList().length,
    bytesPerSecond: median('bytes'),
    parseMs: median('parse'),
    applyMs: median('apply'),
    hexagonListMs: median('cellList'),
    vehicleBufferMiB: (store.vehicles.positions.byteLength + store.vehicles.colors.byteLength) / 2 ** 20,
  };
}
const dataPath = measureDataPath();
process.stdout.write(`data path: ${JSON.stringify(dataPath)}\n`);

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

// The whole city in view, every hexagon at the engine's resolution (9) rather than the zoom's choice.
await page.goto(`${server.url}/#token=${TOKEN}`);
await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, { timeout: 120_000 });
await page.evaluate(() => {
  const o = (window as unknown as { __cityOps: CityOpsPage }).__cityOps;
  o.client.subscribe({
    layers: ['districts', 'pulse', 'alerts', 'status', 'vehicles', 'cells', 'incidents'],
    resolution: 9,
  });
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
  dataPathPerSecondMs: dataPath,
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
