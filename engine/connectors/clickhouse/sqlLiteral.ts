/**
 * SQL literals for ClickHouse, for the values city-ops puts into statements itself. ClickHouse 18.16 has
 * no query parameters ("Unknown setting param_x"), so every value goes through these functions; they are
 * tested against injection in tests/unit/clickhouse/sqlLiteral.test.ts.
 */

/** A single-quoted string literal: backslash and quote escaped, control characters as escapes. */
export function sqlString(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code === 0) out += '\\0';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

/** A finite number literal; anything else (NaN, Infinity, a non-number) is refused. */
export function sqlNumber(value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`not a finite number: ${String(value)}`);
  }
  return String(value);
}

/** An identifier (database, table, column): letters, digits and underscores only, not starting with a digit. */
export function sqlIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new TypeError(`not a safe SQL identifier: ${JSON.stringify(name)}`);
  }
  return name;
}

/** `toDateTime(<seconds>)` for an epoch-milliseconds instant (DateTime has second precision). */
export function sqlDateTime(epochMs: number): string {
  return `toDateTime(${sqlNumber(Math.floor(epochMs / 1000))})`;
}

/** `(a, b, c)` of string literals, for `IN` lists; `('')` for an empty list so the SQL stays valid. */
export function sqlStringList(values: readonly string[]): string {
  return values.length === 0 ? "('')" : `(${values.map(sqlString).join(', ')})`;
}

/**
 * One TabSeparated field: backslash, tab, newline and carriage return escaped as ClickHouse reads them.
 * Used by the workers that build insert bodies, which are faster to build and to parse than JSONEachRow.
 */
export function tsvField(value: string): string {
  // Fast path: most fields have nothing to escape.
  if (!/[\\\t\n\r\0]/.test(value)) return value;
  return value.replace(/[\\\t\n\r\0]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\0',
  );
}
