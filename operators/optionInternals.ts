// Option checks shared by every operator family: each names the field it rejects, so a message reads
// `options.size must be a positive integer (ms), got -3`.
import { CityOpsError } from '../engine/errors.ts';

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}

export function invalidOption(field: string, expectation: string, value: unknown): CityOpsError {
  return new CityOpsError('INVALID_OPTIONS', `${field} must be ${expectation}, got ${describeValue(value)}`);
}

export function requirePositiveInteger(field: string, value: unknown, unit = 'ms'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidOption(field, `a positive integer (${unit})`, value);
  }
  return value;
}

export function requireNonNegativeInteger(field: string, value: unknown, unit = 'ms'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidOption(field, `a non-negative integer (${unit})`, value);
  }
  return value;
}

/** Like `requireNonNegativeInteger`, but `Infinity` (meaning "never") is allowed too. */
export function requireDurationOrInfinity(field: string, value: unknown): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return requireNonNegativeInteger(field, value);
}

export function requireFunction<F>(field: string, value: F | undefined): F {
  if (typeof value !== 'function') throw invalidOption(field, 'a function', value);
  return value;
}

export function requireOneOf<const V extends string>(
  field: string,
  value: unknown,
  allowed: readonly V[],
): V {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidOption(field, `one of ${allowed.map((v) => `'${v}'`).join(', ')}`, value);
  }
  return value as V;
}

export function requireFiniteNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidOption(field, `a number in [${min}, ${max}]`, value);
  }
  return value;
}
