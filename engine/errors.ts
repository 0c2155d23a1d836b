/**
 * Every error city-ops raises on purpose has a stable code listed here, with its domain and retry hint.
 *
 * - `user`: the caller gave something wrong (config, a flag, a record); fix the input, do not retry as is.
 * - `external`: a service outside the process failed (Kafka, ClickHouse, a webhook endpoint); retrying may help.
 * - `internal`: a bug or a broken invariant in city-ops itself; report it.
 *
 * The README's error table lists the same codes; `tests/unit/errors.test.ts` keeps the two in sync.
 */
export type ErrorDomain = 'user' | 'external' | 'internal';

export interface ErrorSpec {
  readonly domain: ErrorDomain;
  /** Whether repeating the same operation later may succeed. */
  readonly retryable: boolean;
  /** One line for the README table: what it means. */
  readonly summary: string;
}

export const ERROR_CODES = {
  CONFIG_INVALID: {
    domain: 'user',
    retryable: false,
    summary: 'A configuration value (environment variable, flag or file) is missing or malformed.',
  },
  CLI_USAGE: {
    domain: 'user',
    retryable: false,
    summary: 'Unknown command or flag, or a flag value of the wrong form.',
  },
  PREREQUISITE_MISSING: {
    domain: 'user',
    retryable: false,
    summary: 'A program the stack needs (Java 17+, Maven, clickhouse-server) is not installed.',
  },
  PORT_IN_USE: {
    domain: 'user',
    retryable: false,
    summary: 'A port the stack must listen on is taken by a process that is not ours.',
  },
  SERVICE_START_FAILED: {
    domain: 'external',
    retryable: true,
    summary: 'A stack service (Kafka, ClickHouse) did not become healthy in time; its log is named.',
  },
  SERVICE_UNAVAILABLE: {
    domain: 'external',
    retryable: true,
    summary: 'Kafka or ClickHouse could not be reached or refused a request.',
  },
  INSTALL_FAILED: {
    domain: 'external',
    retryable: true,
    summary: 'Installing a stack component (apt package, Kafka jars from Maven) failed.',
  },
  INVALID_RECORD: {
    domain: 'user',
    retryable: false,
    summary: 'A record broke the exchange contract; it goes to the dead letters with this reason.',
  },
  INVALID_OPTIONS: {
    domain: 'user',
    retryable: false,
    summary: 'An operator, window or join was built with invalid options; the message names the field.',
  },
  INVALID_STATE: {
    domain: 'user',
    retryable: false,
    summary:
      'A serialised aggregate state is malformed, or two sketch states with different parameters were merged.',
  },
  MIGRATION_FAILED: {
    domain: 'external',
    retryable: false,
    summary: 'A ClickHouse schema migration failed; the migration and statement are named.',
  },
  SINK_WRITE_FAILED: {
    domain: 'external',
    retryable: true,
    summary:
      'A write to ClickHouse or Kafka failed; the batch is kept and retried, offsets are not committed.',
  },
  INVARIANT_BROKEN: {
    domain: 'internal',
    retryable: false,
    summary: 'An internal invariant does not hold; this is a bug in city-ops, please report it.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CityOpsErrorOptions {
  /** What the user can do about it; printed after the message. */
  readonly hint?: string;
  readonly cause?: unknown;
}

/**
 * The error type city-ops throws on purpose. `message` says what was wrong and where; `hint` what to do.
 *
 * @example
 * throw new CityOpsError('PORT_IN_USE', '127.0.0.1:8123 is taken by another process', {
 *   hint: 'stop that process or set CLICKHOUSE_HTTP_PORT',
 * });
 */
export class CityOpsError extends Error {
  override readonly name = 'CityOpsError';
  readonly code: ErrorCode;
  readonly domain: ErrorDomain;
  readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: CityOpsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.domain = ERROR_CODES[code].domain;
    this.retryable = ERROR_CODES[code].retryable;
    this.hint = options.hint;
  }

  /** One human-readable block: `[CODE] message` and, when known, `  -> hint`. */
  describe(): string {
    return `[${this.code}] ${this.message}${this.hint ? `\n  -> ${this.hint}` : ''}`;
  }
}

export function isCityOpsError(error: unknown, code?: ErrorCode): error is CityOpsError {
  return error instanceof CityOpsError && (code === undefined || error.code === code);
}
