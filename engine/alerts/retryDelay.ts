/**
 * Delay before the next attempt of a delivery, in ms: exponential backoff with full jitter,
 * `random() * min(maxDelay, baseDelay * 2^(attempt-1))` after the `attempt`-th failure (1-based), or the
 * receiver's `Retry-After` when it asked for one (capped at `maxDelay`, never below the jittered backoff's
 * floor of 0).
 *
 * @example
 * retryDelay(3, { base_delay: 1000, max_delay: 300000 }); // somewhere in [0, 4000]
 * retryDelay(3, { base_delay: 1000, max_delay: 300000 }, 30000); // 30000
 */
export function retryDelay(
  attempt: number,
  policy: { readonly base_delay: number; readonly max_delay: number },
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), policy.max_delay);
  const ceiling = Math.min(policy.max_delay, policy.base_delay * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` header value in ms from `now`: delay-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`). Undefined when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - now);
}
