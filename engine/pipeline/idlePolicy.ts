import type { PartitionStatus } from './partitionWorker.ts';

/** What the idle policy knows of a partition, as its worker last told the main thread. */
export interface IdleView {
  status: PartitionStatus;
  /** Wall-clock time of the last batch reply. */
  lastActivityAt: number;
  /** Batches sent to the worker and not answered yet. */
  inflightBatches: number;
}

export interface IdleTiming {
  readonly idleTimeoutMs: number;
  readonly windowSizeMs: number;
  readonly graceMs: number;
  /** How long after an incident the finalizer's join still looks (0 where there is no finalizer). */
  readonly impactBandMs: number;
}

/** A partition that got nothing for `idleTimeoutMs` and has nothing on its way to its worker. */
export function isIdle(p: IdleView, now: number, o: IdleTiming): boolean {
  return now - p.lastActivityAt >= o.idleTimeoutMs && p.inflightBatches === 0;
}

/**
 * Where the watermark of an idle partition moves, for the engine and the embedded mode alike. With active
 * partitions, an idle one follows the slowest of them. When all are idle (the input has ended), the
 * watermark moves just past the point where every window holding data is closed and every incident's time
 * band is over: computed from the newest event time seen, not from the watermark, so a long silence moves
 * it once instead of again at every check (which would make the records that end the silence late).
 * Partitions that got no record since they were assigned keep the watermark they were restored with: the
 * previous owner advanced it already. Not finite when there is nothing to go on.
 */
export function idleTarget(partitions: readonly IdleView[], now: number, o: IdleTiming): number {
  const active = partitions.filter((p) => !isIdle(p, now, o));
  return active.length > 0
    ? Math.min(...active.map((p) => p.status.watermark))
    : Math.max(...partitions.map((p) => p.status.maxEventTime)) +
        Math.max(o.windowSizeMs, o.impactBandMs) +
        o.graceMs +
        1;
}

/** The idle partitions whose watermark `target` would move on (they also need to be read to their end). */
export function movable<T extends IdleView>(
  partitions: readonly T[],
  now: number,
  target: number,
  o: IdleTiming,
): T[] {
  return partitions.filter(
    (p) => isIdle(p, now, o) && target > p.status.watermark && p.status.nextOffset !== undefined,
  );
}
