import { createHash } from 'node:crypto';

/**
 * The id of an alert: a digest of the rule, the key it watches (district, cell or incident group) and the
 * event time it started. The same aggregates replayed give the same id, so receivers and the outbox can
 * drop repeats.
 *
 * @example
 * alertId('congestion', 'district:440304', 1_764_201_600_000); // 'al_3f2c...' (24 hex digits)
 */
export function alertId(rule: string, key: string, startedAt: number): string {
  return `al_${createHash('sha256').update(`${rule}\u0000${key}\u0000${startedAt}`).digest('hex').slice(0, 24)}`;
}

/** The CloudEvent id of one lifecycle transition of an alert, also the webhook idempotency key. */
export function transitionEventId(alertId: string, type: 'firing' | 'resolved'): string {
  return `${alertId}.${type}`;
}
