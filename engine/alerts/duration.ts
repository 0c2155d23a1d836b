import { z } from 'zod';

const UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration written as a number and a unit (`500ms`, `30s`, `15m`, `2h`, `7d`) into milliseconds.
 * Returns undefined for anything else.
 *
 * @example
 * parseDuration('15m'); // 900000
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * UNITS_MS[unit as keyof typeof UNITS_MS]);
}

/**
 * A zod schema for durations in config files: a string such as `15m` (units ms, s, m, h, d) or a
 * non-negative integer of milliseconds. Parses to milliseconds.
 */
export const Duration = z.unknown().transform((input, ctx): number => {
  if (typeof input === 'number' && Number.isInteger(input) && input >= 0) return input;
  const ms = typeof input === 'string' ? parseDuration(input) : undefined;
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `'${String(input)}' is not a duration: write a number and a unit, e.g. 30s, 15m, 2h, 7d`,
    });
    return z.NEVER;
  }
  return ms;
});

/** Formats milliseconds back to the largest exact unit, e.g. 900000 -> `15m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNITS_MS[unit] && ms % UNITS_MS[unit] === 0) return `${ms / UNITS_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
