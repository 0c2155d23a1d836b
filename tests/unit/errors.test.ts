import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../engine/config/environment.ts';
import { CityOpsError, ERROR_CODES, isCityOpsError } from '../../engine/errors.ts';

/** Rows of README's error table: `| \`CODE\` | domain | yes/no | meaning |`. */
function readmeErrorTable(): Map<string, { domain: string; retryable: boolean; summary: string }> {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const rows = new Map<string, { domain: string; retryable: boolean; summary: string }>();
  // Cells may be padded (the formatter aligns the table).
  for (const match of readme.matchAll(
    /^\|\s*`([A-Z_]+)`\s*\|\s*(\w+)\s*\|\s*(yes|no)\s*\|\s*(.+?)\s*\|$/gm,
  )) {
    rows.set(match[1]!, { domain: match[2]!, retryable: match[3] === 'yes', summary: match[4]! });
  }
  return rows;
}

describe('error catalogue', () => {
  it('README lists exactly the codes of engine/errors.ts, with the same domain, retry hint and meaning', () => {
    const table = readmeErrorTable();
    expect([...table.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(table.get(code), code).toEqual({
        domain: spec.domain,
        retryable: spec.retryable,
        summary: spec.summary,
      });
    }
  });

  it('errors carry code, domain, retry hint, cause and a readable description', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new CityOpsError('SERVICE_UNAVAILABLE', 'ClickHouse at http://127.0.0.1:8123 refused', {
      hint: 'run city-ops stack up',
      cause,
    });
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', domain: 'external', retryable: true, cause });
    expect(error.describe()).toBe(
      '[SERVICE_UNAVAILABLE] ClickHouse at http://127.0.0.1:8123 refused\n  -> run city-ops stack up',
    );
    expect(isCityOpsError(error, 'SERVICE_UNAVAILABLE')).toBe(true);
    expect(isCityOpsError(error, 'CONFIG_INVALID')).toBe(false);
    expect(isCityOpsError(new Error('x'))).toBe(false);
  });
});
