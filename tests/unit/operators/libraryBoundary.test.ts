import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../engine/config/environment.ts';

function sources(dir: string): string[] {
  return readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** operators/library/ is what the engine does not run: the README's architecture says so. */
describe('operators: the library part is not on the engine path', () => {
  it('nothing under engine/ or bin/ imports operators/library/', () => {
    const offenders = [...sources('engine'), ...sources('bin')].filter((file) =>
      /from '[^']*operators\/library\//.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('the operators outside it import nothing from it but the package index', () => {
    const offenders = sources('operators')
      .filter((file) => !file.includes('/library/') && !file.endsWith('/index.ts'))
      .filter((file) => /from '[^']*library\//.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
