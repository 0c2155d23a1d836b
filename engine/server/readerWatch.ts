import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../observability/logger.ts';

/** What the map server's /health says of its Kafka reader. */
export interface ReaderHealth {
  readonly ok: boolean;
  /** Why not, in words; undefined when ok. */
  readonly detail?: string;
  /** Records published and not read yet, over both topics (at the last check). */
  readonly lag: number;
}

/**
 * Watches a consumer that must never stop: it is dead when its `run` ended, and stalled when records wait
 * for it (its positions behind the topics' ends) and it has read nothing for `stallMs`: a revoked right, a
 * broken fetch, a handler stuck. Either makes the map server unhealthy, since its map no longer moves.
 * Idle is fine: nothing waits. Checked every `checkMs` with the reader's own admin client.
 */
export class ReaderWatch {
  private readonly positions = new Map<string, bigint>();
  private lastReadAt = Date.now();
  private stoppedBy: string | undefined;
  private health: ReaderHealth = { ok: true, lag: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: KafkaJS.Admin,
    private readonly topics: readonly string[],
    private readonly logger: Logger,
    private readonly stallMs = 30_000,
    private readonly checkMs = 5_000,
  ) {}

  /** The reader will resume `topic`/`partition` at `offset`. */
  sought(topic: string, partition: number, offset: string): void {
    this.positions.set(`${topic}:${partition}`, BigInt(offset));
  }

  /** The reader handled records of `topic`/`partition` up to `offset`. */
  read(topic: string, partition: number, offset: string): void {
    this.positions.set(`${topic}:${partition}`, BigInt(offset) + 1n);
    this.lastReadAt = Date.now();
  }

  /** The consumer's `run` ended (it reads nothing more). */
  died(reason: string): void {
    this.stoppedBy = reason;
    this.health = { ok: false, detail: `the Kafka consumer stopped: ${reason}`, lag: this.health.lag };
  }

  get state(): ReaderHealth {
    return this.health;
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.stoppedBy) return;
    let lag = 0n;
    try {
      for (const topic of this.topics) {
        for (const end of await this.admin.fetchTopicOffsets(topic)) {
          const position = this.positions.get(`${topic}:${end.partition}`) ?? BigInt(end.low);
          if (BigInt(end.high) > position) lag += BigInt(end.high) - position;
        }
      }
    } catch (error) {
      this.health = {
        ok: false,
        detail: `Kafka does not answer: ${(error as Error).message}`,
        lag: this.health.lag,
      };
      return;
    }
    const quietMs = Date.now() - this.lastReadAt;
    const stalled = lag > 0n && quietMs > this.stallMs;
    if (stalled && this.health.ok)
      this.logger.error(
        { lag: Number(lag), quiet_s: Math.round(quietMs / 1000) },
        'aggregates reader stalled',
      );
    this.health = stalled
      ? {
          ok: false,
          detail: `${lag} records wait and nothing was read for ${Math.round(quietMs / 1000)} s`,
          lag: Number(lag),
        }
      : { ok: true, lag: Number(lag) };
  }
}
