import type { KafkaSink } from '../connectors/kafka/sink.ts';
import { aggregateKey } from '../contract/aggregates.ts';
import { internalTopic } from '../contract/topics.ts';
import type { Logger } from '../observability/logger.ts';
import { liveMessages, type PipelineDrain } from './partitionPipeline.ts';

/** Live updates for the map and the alert rules, on the aggregates topic: best effort, never holds back a commit. */
export function publishLive(
  drains: readonly PipelineDrain[],
  sink: KafkaSink,
  prefix: string,
  log: Logger,
): void {
  const now = Date.now();
  const messages = drains.flatMap((d) => liveMessages(d, now));
  if (messages.length === 0) return;
  sink
    .send(
      internalTopic('aggregates', prefix),
      messages.map((m) => ({ key: aggregateKey(m), value: JSON.stringify(m) })),
    )
    .catch((error: unknown) => log.warn({ err: error }, 'publishing live aggregates failed'));
}
