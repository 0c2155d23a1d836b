import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertId } from '../../engine/alerts/alertIdentity.ts';
import { readTopicToEnd } from '../../engine/alerts/alertKafka.ts';
import { CaseEvent } from '../../engine/cases/caseModel.ts';
import { PROJECT_ROOT } from '../../engine/config/environment.ts';
import { type MapServer, startMapServer } from '../../engine/server/mapServer.ts';
import {
  type AlertsRun,
  type AlertWorld,
  createAlertWorld,
  publishToOutbox,
  SECRETS,
  spawnAlerts,
  waitFor,
} from '../integration/alerts/alertTestKit.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';

const TOKEN = 'case-console-operator-token';
const ARTIFACTS = resolve(PROJECT_ROOT, 'test-artifacts');

/**
 * The map as a console (issue 17), in headless Chromium against the real map server, the real case
 * service (`city-ops alerts --only cases`) and Kafka: the operator sees the case an alert opened and the
 * city's operating level, and acknowledges, resolves, verifies and closes it from the page.
 */
describe('the case console of the map', () => {
  let world: AlertWorld;
  let dir: string;
  let run: AlertsRun;
  let server: MapServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await build({ configFile: resolve(PROJECT_ROOT, 'viz', 'vite.config.ts'), logLevel: 'error' });
    world = await createAlertWorld(1);
    dir = mkdtempSync(join(tmpdir(), 'city-ops-console-'));
    writeFileSync(
      join(dir, 'rules.yaml'),
      `version: 1
departments:
  - id: transport
    name_en: Transport Bureau
    name_zh: 交通运输局
    endpoints: [{ id: transport-hook, url: 'http://127.0.0.1:9/none', secrets: [${SECRETS[0]}] }]
  - id: emergency
    name_en: Emergency Management Bureau
    name_zh: 应急管理局
    endpoints: [{ id: emergency-hook, url: 'http://127.0.0.1:9/none', secrets: [${SECRETS[1]}] }]
rules:
  - id: slow
    severity: warning
    title_en: 'Slow in {district_en}'
    title_zh: '{district_zh}缓慢'
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: 12, clear: 16 }
routes:
  - { departments: [transport], districts: ['440304'] }
  - { departments: [emergency], districts: ['440305'] }
cases:
  levels: [{ level: 2, open: 2 }]
`,
    );
    run = spawnAlerts(world, ['--only', 'cases', '--rules', join(dir, 'rules.yaml')]);
    await waitFor(
      'the case service to run',
      () => run.output.some((l) => l.startsWith('alerts: running')),
      90_000,
    );
    server = await startMapServer({
      env: world.env,
      token: TOKEN,
      port: 0,
      topicPrefix: world.env.CITY_OPS_TOPIC_PREFIX,
      history: false,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => console.error('page error:', error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    run?.child.kill('SIGTERM');
    await run?.exited;
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the case and the level, and takes the case from acknowledgement to closure', async () => {
    const started = Date.now() - 60_000;
    const slow = (district: string, at: number) => ({
      type: 'firing' as const,
      at,
      alert_id: alertId('slow', `district:${district}`, at),
      rule: 'slow',
      severity: 'warning' as const,
      indicator: 'transport.mean_speed_kmh',
      condition: 'threshold' as const,
      district,
      title_en: `Slow in ${district}`,
      title_zh: `${district}缓慢`,
      value: 9,
      threshold: 12,
      started_at: at,
    });
    await publishToOutbox(world.kafka, world.topics.alerts, [
      slow('440304', started),
      slow('440305', started + 1),
    ]);
    await page.goto(`${server.url}/?lang=en#token=${TOKEN}`);
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, {
      timeout: 60_000,
    });
    await page.locator('li.case').nth(1).waitFor({ timeout: 30_000 });
    const row = page.locator('li.case', { hasText: 'Futian' });
    expect(await row.locator('.who').textContent()).toBe('transport');
    await page.waitForFunction(() => document.getElementById('level')?.dataset['level'] === '2', undefined, {
      timeout: 30_000,
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'case-console.png') });

    // The centre assigns the Futian case to the Emergency Management Bureau.
    await row.locator('select[data-assign]').selectOption('emergency');
    await waitFor(
      'the case to be assigned',
      async () => (await row.locator('.who').textContent()) === 'emergency',
      30_000,
    );
    for (const [action, state] of [
      ['acknowledge', 'acknowledged'],
      ['resolve', 'resolved'],
      ['verify', 'verified'],
      ['close', 'closed'],
    ] as const) {
      await row.locator(`button[data-action="${action}"]`).click();
      await waitFor(
        `the case to be ${state}`,
        async () => (await row.getAttribute('data-state')) === state,
        30_000,
      );
    }
    // One case left open: the city is back to level 1.
    await page.waitForFunction(() => document.getElementById('level')?.dataset['level'] === '1', undefined, {
      timeout: 30_000,
    });

    const events: CaseEvent[] = [];
    await readTopicToEnd(world.kafka, world.topics.caseEvents, ({ value }) => {
      events.push(CaseEvent.parse(JSON.parse(String(value))));
    });
    const futian = events.find((e) => e.type === 'opened' && e.place === '440304')!.case_id;
    expect(events.filter((e) => e.case_id === futian).map((e) => [e.type, e.by, e.departments])).toEqual([
      ['opened', 'system', ['transport']],
      ['dispatched', 'system', ['transport']],
      ['dispatched', 'operations-centre', ['emergency']],
      ['acknowledged', 'operations-centre', []],
      ['resolved', 'operations-centre', []],
      ['verified', 'operations-centre', []],
      ['closed', 'operations-centre', []],
    ]);
    const byConsole = events.filter((e) => e.by === 'operations-centre');
    expect(byConsole.every((e) => e.action_id.length > 0)).toBe(true);
  });
});
