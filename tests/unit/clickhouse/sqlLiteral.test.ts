import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  sqlIdentifier,
  sqlNumber,
  sqlString,
  sqlStringList,
  tsvField,
} from '../../../engine/connectors/clickhouse/sqlLiteral.ts';

/** Reads a ClickHouse single-quoted literal back the way the server's lexer does (escapes per the docs). */
function unquote(literal: string): { value: string; rest: string } {
  expect(literal[0]).toBe("'");
  let value = '';
  let i = 1;
  for (; i < literal.length; i++) {
    const c = literal[i]!;
    if (c === "'") break;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const next = literal[++i]!;
    if (next === 'x') {
      value += String.fromCharCode(Number.parseInt(literal.slice(i + 1, i + 3), 16));
      i += 2;
    } else value += ({ n: '\n', r: '\r', t: '\t', '0': '\0' } as Record<string, string>)[next] ?? next;
  }
  return { value, rest: literal.slice(i + 1) };
}

describe('sqlString', () => {
  it('round-trips any string and never lets it end the literal early', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const { value, rest } = unquote(sqlString(s));
        expect(value).toBe(s);
        expect(rest).toBe('');
      }),
      { numRuns: 500 },
    );
  });

  it('neutralises classic injections', () => {
    for (const attack of ["x' OR 1=1 --", "'; DROP TABLE city.events; --", "\\'; SELECT 1", 'a\\', "\n'"]) {
      const literal = sqlString(attack);
      expect(unquote(literal)).toEqual({ value: attack, rest: '' });
    }
    expect(sqlString("O'Brien")).toBe("'O\\'Brien'");
  });
});

describe('sqlNumber, sqlIdentifier, sqlStringList', () => {
  it('accepts only finite numbers', () => {
    expect(sqlNumber(42)).toBe('42');
    expect(sqlNumber(-1.5)).toBe('-1.5');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '1; DROP' as unknown as number]) {
      expect(() => sqlNumber(bad)).toThrow(TypeError);
    }
  });

  it('accepts only plain identifiers', () => {
    expect(sqlIdentifier('city_restricted')).toBe('city_restricted');
    for (const bad of ['city.events', 'a b', '1x', 'x`; DROP', ''])
      expect(() => sqlIdentifier(bad)).toThrow(TypeError);
  });

  it('builds IN lists that stay valid when empty', () => {
    expect(sqlStringList([])).toBe("('')");
    expect(sqlStringList(['a', "b'"])).toBe("('a', 'b\\'')");
  });
});

describe('tsvField', () => {
  it('escapes exactly the characters that would break a TabSeparated row', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const field = tsvField(s);
        expect(field).not.toMatch(/[\t\n\r\0]/);
        const back = field.replace(
          /\\(.)/g,
          (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '0': '\0' })[c] ?? c,
        );
        expect(back).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});
