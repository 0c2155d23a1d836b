import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { watchCatalogue } from '../../../engine/catalogue/catalogueWatcher.ts';
import {
  DEFAULT_CATALOGUE,
  type LoadedCatalogue,
  loadCatalogue,
} from '../../../engine/catalogue/loadCatalogue.ts';
import { exitItems } from '../../../engine/catalogue/negativeList.ts';

describe('the catalogue, reloaded while running', () => {
  it('applies a valid change with its diff logged, and keeps the catalogue in force on a broken file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'city-ops-catalogue-')), 'catalogue.yaml');
    copyFileSync(DEFAULT_CATALOGUE, path);
    const lines: string[] = [];
    const logged = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const applied: LoadedCatalogue[] = [];
    const watcher = watchCatalogue(await loadCatalogue(path), logged, (next) => applied.push(next));
    const vehicles = () => watcher.current.catalogue.resources.find((r) => r.id === 'map.vehicles')!;

    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(
        'negative_list:\n',
        'negative_list:\n  - { id: speeds, legal_basis: a test rule, resources: [map.vehicles], items: [speed_kmh] }\n',
      ),
    );
    expect(await watcher.reload()).toBe(true);
    expect(applied).toHaveLength(1);
    expect(exitItems(watcher.current.catalogue, vehicles())).not.toContain('speed_kmh');
    const reloaded = JSON.parse(lines.at(-1)!) as { msg: string; changes: string[]; changeCount: number };
    expect(reloaded.msg).toBe('catalogue reloaded');
    expect(reloaded.changeCount).toBeGreaterThan(0);
    expect(reloaded.changes.join('\n')).toMatch(/speeds/);
    expect(await watcher.reload()).toBe(false); // nothing changed

    writeFileSync(path, 'version: 1\nresources: [oops\n');
    expect(await watcher.reload()).toBe(false);
    expect(JSON.parse(lines.at(-1)!).msg).toBe('catalogue file rejected; the previous one stays in force');
    expect(exitItems(watcher.current.catalogue, vehicles())).not.toContain('speed_kmh');
    expect(applied).toHaveLength(1);
  });
});
