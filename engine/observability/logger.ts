import { type Logger, pino } from 'pino';

/**
 * Structured JSON logs (pino) on standard error, so that a command's own output on standard output stays
 * clean for pipes. `LOG_LEVEL` sets the level (default `info`).
 *
 * Personal fields are censored by path as a last line of defence; the engine masks them before they
 * reach any log call (see `engine/privacy/`).
 */
export function createLogger(name: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid, service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'reporter.name',
          'reporter.phone',
          'reporter.id_number',
          '*.reporter.name',
          '*.reporter.phone',
          '*.reporter.id_number',
          'password',
          '*.password',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}

export type { Logger };
