import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertConfigWatcher } from '../../../engine/alerts/alertConfigWatcher.ts';
import type { LoadedAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { loadAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { createLogger } from '../../../engine/observability/logger.ts';

const rules = (fire: number) => `version: 1
departments:
  - { id: t, name_en: T, name_zh: T, endpoints: [{ id: e, url: 'http://127.0.0.1:1/', secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw] }] }
rules:
  - id: slow
    severity: warning
    title_en: slow
    title_zh: 慢
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: ${fire} }
routes: [{ departments: [t] }]
`;

describe('AlertConfigWatcher (reload without restart)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-watch-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies a changed file, ignores an unchanged one, and keeps the rules in force when the new file is invalid', async () => {
    const path = join(dir, 'rules.yaml');
    writeFileSync(path, rules(12));
    const applied: LoadedAlertConfig[] = [];
    const watcher = new AlertConfigWatcher(
      path,
      await loadAlertConfig(path, {}),
      createLogger('test', 'silent'),
      (next) => applied.push(next),
      50,
      {},
    );
    watcher.start();
    try {
      expect(await watcher.reload()).toBe(false); // same text
      writeFileSync(path, rules(10));
      expect(await watcher.reload()).toBe(true);
      expect(watcher.config.config.rules[0]?.condition).toMatchObject({ fire: 10 });
      writeFileSync(path, rules(10).replace('direction: below', 'direction: sideways'));
      expect(await watcher.reload()).toBe(false);
      expect(watcher.config.config.rules[0]?.condition).toMatchObject({ fire: 10, direction: 'below' });
      // The file is also polled: a change is picked up without reload().
      writeFileSync(path, rules(8));
      const deadline = Date.now() + 5_000;
      while (applied.length < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(
        applied.map((a) => a.config.rules.map((r) => (r.condition as { fire: number }).fire)[0]),
      ).toEqual([10, 8]);
    } finally {
      watcher.stop();
    }
  });
});
