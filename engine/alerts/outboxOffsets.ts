/**
 * Which offsets of the outbox topic may be committed: per partition, records are tracked in the order they
 * were consumed, each with the number of its deliveries still unsettled (neither acknowledged nor
 * dead-lettered). The committable offset of a partition is the offset of its oldest unsettled record (or
 * one past the newest record when all are settled), so a commit never skips an alert that some endpoint
 * still waits for, while the other endpoints go on independently.
 *
 * @example
 * const offsets = new OutboxOffsets();
 * offsets.add(0, '41', 2);
 * offsets.settle(0, '41'); offsets.settle(0, '41');
 * offsets.committable(); // [{ partition: 0, offset: '42' }]
 */
export class OutboxOffsets {
  private readonly partitions = new Map<
    number,
    { records: Array<{ offset: bigint; pending: number }>; head: number; next?: bigint; committed?: bigint }
  >();

  /** A record consumed at `offset` with `deliveries` deliveries to settle (0: settled at once). */
  add(partition: number, offset: string, deliveries: number): void {
    let state = this.partitions.get(partition);
    if (!state) {
      state = { records: [], head: 0 };
      this.partitions.set(partition, state);
    }
    state.records.push({ offset: BigInt(offset), pending: deliveries });
    this.advance(state);
  }

  /** One delivery of the record at `offset` settled. */
  settle(partition: number, offset: string): void {
    const state = this.partitions.get(partition);
    if (!state) return;
    const target = BigInt(offset);
    for (let i = state.head; i < state.records.length; i += 1) {
      const record = state.records[i]!;
      if (record.offset === target) {
        record.pending = Math.max(0, record.pending - 1);
        break;
      }
    }
    this.advance(state);
  }

  private advance(state: {
    records: Array<{ offset: bigint; pending: number }>;
    head: number;
    next?: bigint;
  }): void {
    while (state.head < state.records.length && state.records[state.head]!.pending === 0) {
      state.next = state.records[state.head]!.offset + 1n;
      state.head += 1;
    }
    if (state.head > 1024) {
      state.records.splice(0, state.head);
      state.head = 0;
    }
  }

  /** Offsets to commit now (the next offset to read per partition), only where they moved since `markCommitted`. */
  committable(): Array<{ partition: number; offset: string }> {
    const out: Array<{ partition: number; offset: string }> = [];
    for (const [partition, state] of this.partitions) {
      if (state.next !== undefined && state.next !== state.committed)
        out.push({ partition, offset: String(state.next) });
    }
    return out;
  }

  /** Records that `offset` was committed for `partition`. */
  markCommitted(partition: number, offset: string): void {
    const state = this.partitions.get(partition);
    if (state) state.committed = BigInt(offset);
  }

  /** Records consumed and not yet settled, over all partitions. */
  get unsettled(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.records.length - state.head;
    return count;
  }

  /** Forgets a partition (revoked in a rebalance). */
  drop(partition: number): void {
    this.partitions.delete(partition);
  }
}
