import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { Counter, type Registry } from 'prom-client';
import { type ClickHouseClient, selectCompact } from '../connectors/clickhouse/client.ts';
import { ClickHouseSink } from '../connectors/clickhouse/sink.ts';
import { sqlString, sqlStringList } from '../connectors/clickhouse/sqlLiteral.ts';
import { baseMembership } from '../connectors/clickhouse/tables/base.ts';
import {
  deadLetterRawRow,
  deadLetterRow,
  deadLetters,
  deadLettersRaw,
} from '../connectors/clickhouse/tables/layers.ts';
import { columnNames, qualified } from '../connectors/clickhouse/tables/table.ts';
import type { KafkaClient } from '../connectors/kafka/client.ts';
import type { IncidentImpactMessage } from '../contract/aggregates.ts';
import { BASE_FEED_NAMES, BASE_FEEDS, type BaseFeed } from '../contract/baseChanges.ts';
import type { Logger } from '../observability/logger.ts';
import { BaseLookup } from './baseLookup.ts';
import { BaseWriter } from './baseWriter.ts';
import type { MembershipVersion } from './changePlan.ts';
import { FEED_MEMBER, type FeedMessage, planFeedBatch } from './feedBatch.ts';
import { rejoinTouched, type TouchedBuilding } from './rejoin.ts';

export interface BaseFeedApplierOptions {
  readonly db: { city: string; restricted: string };
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly registry: Registry;
  readonly logger: Logger;
  /**
   * Sends the map the figures of incidents joined again (to the aggregates topic), before the batch is
   * committed: a failed send fails the batch, which then comes again.
   */
  readonly publish?: (messages: readonly IncidentImpactMessage[]) => Promise<void>;
}

/**
 * Applies the base libraries' change feeds (`city.base.*`) to their versioned tables: each batch of a
 * partition is planned (feedBatch.ts), written, then committed. Rows are idempotent (a version's key and
 * content follow from the change), so a batch written again after a crash adds nothing: nothing is lost,
 * nothing counts twice. Bad messages go to the dead letters with their reason, masked in `city` and
 * whole in the restricted database.
 */
export class BaseFeedApplier {
  readonly #client: ClickHouseClient;
  readonly #sink: ClickHouseSink;
  readonly #writer: BaseWriter;
  readonly #options: BaseFeedApplierOptions;
  readonly #byTopic: Map<string, BaseFeed>;
  readonly #applied: Counter<'feed'>;
  readonly #rejected: Counter<'feed' | 'reason'>;
  readonly #rejoined: Counter;
  /** The buildings, for the incidents to join again; read at the first batch that has any. */
  readonly #lookup: BaseLookup;
  #consumer: KafkaJS.Consumer | undefined;
  #dead: string | undefined;

  constructor(client: ClickHouseClient, options: BaseFeedApplierOptions) {
    this.#client = client;
    this.#sink = new ClickHouseSink(client);
    this.#writer = new BaseWriter(client, options.db);
    this.#options = options;
    this.#byTopic = new Map(BASE_FEED_NAMES.map((f) => [`${options.topicPrefix}${BASE_FEEDS[f].topic}`, f]));
    this.#applied = new Counter({
      name: 'city_base_changes_applied_total',
      help: 'Changes of the base libraries applied, per feed',
      labelNames: ['feed'],
      registers: [options.registry],
    });
    this.#lookup = new BaseLookup(options.db);
    this.#rejoined = new Counter({
      name: 'city_base_impacts_rejoined_total',
      help: 'Incidents whose base impact was joined again after a change that reached back before them',
      registers: [options.registry],
    });
    this.#rejected = new Counter({
      name: 'city_base_dead_letters_total',
      help: 'Messages of the base feeds sent to the dead letters, per feed and reason',
      labelNames: ['feed', 'reason'],
      registers: [options.registry],
    });
  }

  async start(kafka: KafkaClient): Promise<void> {
    this.#consumer = kafka.consumer({
      kafkaJS: { groupId: this.#options.groupId, fromBeginning: true, autoCommit: false },
      'js.consumer.max.batch.size': 2000,
    } as KafkaJS.ConsumerConstructorConfig);
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#byTopic.keys()] });
    await this.#consumer.run({
      eachBatch: async (payload) => {
        try {
          await this.#onBatch(payload);
        } catch (error) {
          // Not committed: the batch comes again after the restart a failed health check brings.
          this.#dead = `applying ${payload.batch.topic}[${payload.batch.partition}] failed: ${(error as Error).message}`;
          this.#options.logger.error({ err: error }, 'a base feed batch could not be written; stopping');
          throw error;
        }
      },
    });
  }

  health(): { ok: boolean; error?: string } {
    return this.#dead === undefined ? { ok: true } : { ok: false, error: this.#dead };
  }

  async close(): Promise<void> {
    await this.#consumer?.disconnect().catch(() => {});
  }

  async #onBatch({ batch }: KafkaJS.EachBatchPayload): Promise<void> {
    const feed = this.#byTopic.get(batch.topic);
    if (feed === undefined || batch.messages.length === 0) return;
    const messages: FeedMessage[] = batch.messages.map((m) => ({
      offset: Number(m.offset),
      value: m.value ?? null,
      key: m.key ?? null,
      timestamp: Number(m.timestamp),
    }));
    const histories = feed === 'buildings' ? new Map() : await this.#histories(feed, messages);
    const planned = planFeedBatch(feed, batch.topic, batch.partition, messages, histories);
    for (const [table, rows] of planned.rows) await this.#writer.write(table, rows);
    if (planned.deadLetters.length > 0) {
      const now = Math.floor(Date.now() / 1000);
      const letters = (row: typeof deadLetterRow) =>
        planned.deadLetters.map((l) => row(batch.topic, batch.partition, l, now)).join('');
      await this.#sink.insertTsv(qualified(deadLetters, this.#options.db), columnNames(deadLetters), [
        letters(deadLetterRow),
      ]);
      await this.#sink.insertTsv(qualified(deadLettersRaw, this.#options.db), columnNames(deadLettersRaw), [
        letters(deadLetterRawRow),
      ]);
      for (const l of planned.deadLetters) this.#rejected.inc({ feed, reason: l.reason });
    }
    this.#applied.inc({ feed }, planned.applied);
    // Incidents joined before a change that reaches back before them are joined again (rejoin.ts).
    const rejoined = await rejoinTouched(
      this.#client,
      this.#options.db,
      touchedBy(planned.rows),
      this.#lookup,
    );
    if (rejoined.messages.length > 0) await this.#options.publish?.(rejoined.messages);
    this.#rejoined.inc(rejoined.incidents);
    const last = batch.messages.at(-1)!;
    await this.#consumer!.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
    ]);
  }

  /** The stored versions of the members this batch names, by member id (one read by the table's key). */
  async #histories(feed: Exclude<BaseFeed, 'buildings'>, messages: readonly FeedMessage[]) {
    const ids = new Set<string>();
    for (const m of messages) {
      const id = idOf(m.value);
      if (id !== undefined) ids.add(id);
    }
    const histories = new Map<string, MembershipVersion[]>();
    if (ids.size === 0) return histories;
    const rows = await selectCompact<[string, string, number, string, string]>(
      this.#client,
      `SELECT member_id, toString(valid_from_ms), deleted, building_id, attributes
         FROM ${qualified(baseMembership, this.#options.db)} FINAL
        WHERE kind = ${sqlString(FEED_MEMBER[feed])} AND member_id IN ${sqlStringList([...ids])}
        ORDER BY member_id, valid_from_ms`,
    );
    for (const [id, from, deleted, building_id, attributes] of rows) {
      const list = histories.get(id) ?? [];
      list.push({
        valid_from_ms: Number(from),
        deleted: Number(deleted) === 1 ? 1 : 0,
        building_id,
        attributes: JSON.parse(attributes) as Record<string, unknown>,
      });
      histories.set(id, list);
    }
    return histories;
  }
}

/** The buildings the rows of a batch touch, each from its earliest change. */
function touchedBy(rows: ReadonlyMap<unknown, ReadonlyArray<Record<string, unknown>>>): TouchedBuilding[] {
  const from = new Map<string, number>();
  for (const list of rows.values())
    for (const row of list)
      if (typeof row['building_id'] === 'string' && row['building_id'] !== '') {
        const at = Number(row['valid_from_ms']);
        from.set(row['building_id'], Math.min(at, from.get(row['building_id']) ?? at));
      }
  return [...from].map(([building_id, valid_from_ms]) => ({ building_id, valid_from_ms }));
}

/** The `id` of a message that may be a change (read again, strictly, by the plan). */
function idOf(value: Buffer | null): string | undefined {
  if (value === null || value.length > 65_536) return undefined;
  try {
    const id = (JSON.parse(value.toString('utf8')) as { id?: unknown }).id;
    // The feeds' id pattern: at most 64 ASCII characters, so 2,000 ids stay far below ClickHouse's 256 KiB query.
    return typeof id === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
