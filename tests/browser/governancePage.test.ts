import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDepartmentToken } from '../../engine/access/departmentTokens.ts';
import type { Governance } from '../../engine/access/governance.ts';
import { tokensFromFile } from '../../engine/access/mapAccess.ts';
import { loadCatalogue } from '../../engine/catalogue/loadCatalogue.ts';
import { PROJECT_ROOT } from '../../engine/config/environment.ts';
import { createClickHouse } from '../../engine/connectors/clickhouse/client.ts';
import { type MapServer, startMapServer } from '../../engine/server/mapServer.ts';
import { testEnv, uniqueSuffix } from '../helpers/environment.ts';
import { governanceFixture, writeGovernanceFixture } from '../helpers/governanceFixture.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';

const OPERATOR = 'governance-operator-token';
const ARTIFACTS = resolve(PROJECT_ROOT, 'test-artifacts');

/** What the governance page shows, read from its DOM. */
interface PageFigures {
  today: string;
  heading: string;
  days: number;
  scoreProviders: string[];
  flows: Array<[string, string]>;
  consumers: string[];
  handlers: string[];
  text: string;
}

function readPage(page: Page): Promise<PageFigures> {
  return page.evaluate(() => {
    const panel = document.getElementById('governance')!;
    const all = (selector: string) => [...panel.querySelectorAll<HTMLElement>(selector)];
    return {
      today: document.querySelector('[data-testid="exchange-today"]')?.textContent ?? '',
      heading: panel.querySelector('h2')?.textContent ?? '',
      days: all('[data-testid="transactions"] tbody tr').length,
      scoreProviders: all('[data-testid="scores"] tbody tr').map((r) => r.dataset['provider'] ?? ''),
      flows: all('path.flow').map(
        (p) => [p.dataset['from'] ?? '', p.dataset['to'] ?? ''] as [string, string],
      ),
      consumers: all('[data-testid="use"] tbody tr').map((r) => r.dataset['consumer'] ?? ''),
      handlers: all('[data-testid="case-handling"] tbody tr').map((r) => r.dataset['department'] ?? ''),
      text: panel.textContent ?? '',
    };
  });
}

/**
 * The governance page of the map (issue 16) in headless Chromium, against the real map server reading
 * ClickHouse: it shows what `/api/governance` answers the token (the operator every flow, a department
 * its own), in Chinese and English, and today's transactions in the header.
 */
describe('the governance page in headless Chromium', async () => {
  const { catalogue } = await loadCatalogue();
  const engine = createClickHouse(testEnv, 'engine');
  const db = `test_gov_page_${uniqueSuffix()}`;
  const tokensPath = join(mkdtempSync(join(tmpdir(), 'city-ops-gov-page-')), 'department-tokens.json');
  let server: MapServer;
  let browser: Browser;
  let emergency: string;

  const api = async (token: string) =>
    (await (
      await fetch(`${server.url}/api/governance?days=7`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as Governance;
  const openPage = async (token: string, lang = '') => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(`${server.url}/${lang}#token=${token}`);
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, {
      timeout: 60_000,
    });
    await page.click('#gov-toggle');
    await page.waitForSelector('[data-testid="transactions"]', { timeout: 30_000 });
    return page;
  };

  beforeAll(async () => {
    await build({ configFile: resolve(PROJECT_ROOT, 'viz', 'vite.config.ts'), logLevel: 'error' });
    await writeGovernanceFixture(engine, db, governanceFixture());
    emergency = await issueDepartmentToken(tokensPath, catalogue, 'emergency');
    server = await startMapServer({
      env: testEnv,
      token: OPERATOR,
      port: 0,
      kafka: false,
      // The analyst user reads `city` only; the test's own database is read as the engine.
      history: { client: engine, tables: { database: db } },
      access: { tokens: tokensFromFile(tokensPath), policy: { catalogue, grants: () => [] } },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await engine.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await engine.close();
  });

  it("shows the operator every flow, score and consumer, in Chinese, and today's transactions", async () => {
    const figures = await api(OPERATOR);
    const page = await openPage(OPERATOR);
    const shown = await readPage(page);
    expect(shown.heading).toBe('数据共享治理');
    expect(shown.days).toBe(7);
    const today = figures.transactions.at(-1)!;
    expect(shown.today.replaceAll(',', '')).toBe(String(today.accepted + today.rejected));
    expect(shown.flows.sort()).toEqual(
      figures.flows.map((f) => [`p:${f.provider}`, `c:${f.consumer}`] as [string, string]).sort(),
    );
    expect(new Set(shown.scoreProviders)).toEqual(new Set(['transport', 'emergency']));
    expect(new Set(shown.consumers)).toEqual(new Set(figures.use.map((u) => u.consumer)));
    expect(shown.handlers).toEqual(figures.cases.map((c) => c.department));
    expect(shown.handlers.length).toBeGreaterThan(0);
    expect(shown.text).toContain('应急管理局');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'governance-page.png') });
    await page.click('#lang');
    const english = await readPage(page);
    expect(english.heading).toBe('Data-sharing governance');
    expect(english.text).toContain('Emergency Management Bureau');
    await page.close();
  });

  it('shows a department only its own scores, flows and use', async () => {
    const page = await openPage(emergency, '?lang=en');
    const shown = await readPage(page);
    expect(shown.heading).toBe('Data-sharing governance');
    expect(shown.flows.length).toBeGreaterThan(0);
    for (const [from, to] of shown.flows) expect(from === 'p:emergency' || to === 'c:emergency').toBe(true);
    expect(shown.scoreProviders).toEqual(['emergency']);
    expect(shown.consumers).toEqual(['emergency']);
    expect(shown.handlers).toEqual(['emergency']);
    const operatorFlows = (await api(OPERATOR)).flows.filter(
      (f) => f.provider === 'emergency' || f.consumer === 'emergency',
    );
    expect(shown.flows.length).toBe(operatorFlows.length);
    await page.close();
  });
});
