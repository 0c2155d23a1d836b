/**
 * Kafka topics of the exchange. The three stream topics are the public contract that departments publish
 * to; the others are city-ops' own. Every name may carry a prefix (`CITY_OPS_TOPIC_PREFIX`), so that
 * several deployments or test runs can share one cluster without seeing each other's data.
 */
export const STREAM_TOPICS = {
  transport: 'city.transport',
  events: 'city.events',
  population: 'city.population',
} as const;

export type StreamName = keyof typeof STREAM_TOPICS;
export const STREAM_NAMES = Object.keys(STREAM_TOPICS) as StreamName[];

/**
 * city-ops' own topics: dead letters, live aggregates for the map servers, the alert outbox and the alert
 * path's acknowledgements, dead letters and evaluator snapshots (engine/alerts/alertTopics.ts says more).
 */
export const INTERNAL_TOPICS = {
  deadLetters: 'city.dead-letters',
  aggregates: 'city.aggregates',
  alerts: 'city.alerts',
  alertAcks: 'city.alert-acks',
  alertDeadLetters: 'city.alert-dead-letters',
  alertEvaluatorState: 'city.alert-evaluator-state',
  caseEvents: 'city.case-events',
  caseActions: 'city.case-actions',
} as const;

export type InternalTopicName = keyof typeof INTERNAL_TOPICS;

/** The topic of one input stream, e.g. `streamTopic('transport')` is `city.transport`. */
export function streamTopic(stream: StreamName, prefix = ''): string {
  return `${prefix}${STREAM_TOPICS[stream]}`;
}

/** One of city-ops' own topics, e.g. `internalTopic('deadLetters')` is `city.dead-letters`. */
export function internalTopic(name: InternalTopicName, prefix = ''): string {
  return `${prefix}${INTERNAL_TOPICS[name]}`;
}

/** The stream a topic carries, or undefined for a topic that is not an input stream. */
export function streamOfTopic(topic: string, prefix = ''): StreamName | undefined {
  return STREAM_NAMES.find((stream) => streamTopic(stream, prefix) === topic);
}

/** The base libraries' change feeds (engine/contract/baseChanges.ts holds their messages' schemas). */
export const BASE_TOPICS = {
  buildings: 'city.base.buildings',
  dwellings: 'city.base.dwellings',
  legal_persons: 'city.base.legal_persons',
  population: 'city.base.population',
} as const;

/** Every topic `city-ops stack up` and `city-ops migrate` make sure exists. */
export function allTopics(prefix = ''): string[] {
  return [
    ...STREAM_NAMES.map((s) => streamTopic(s, prefix)),
    ...Object.values(BASE_TOPICS).map((t) => `${prefix}${t}`),
    ...(Object.keys(INTERNAL_TOPICS) as InternalTopicName[]).map((n) => internalTopic(n, prefix)),
  ];
}

const DAY_MS = 86_400_000;

/**
 * Broker settings a topic of ours is created with, by what it carries (any prefix):
 * - input streams: `LogAppendTime`, so a message's timestamp is the broker's clock when it took the record,
 *   which no publisher can set (not zero, not in the future); the engine judges event times against it;
 * - the alert outbox: kept until deleted (`retention.ms=-1`): an alert no department has received yet must
 *   not expire with the broker's 72 h default;
 * - alert acknowledgements compacted and kept 7 days, alert dead letters 30 days, evaluator snapshots
 *   compacted (a snapshot may be large).
 */
export function topicSettings(topic: string): Array<{ name: string; value: string }> {
  if (STREAM_NAMES.some((stream) => topic.endsWith(STREAM_TOPICS[stream])))
    return [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];
  if (topic.endsWith(INTERNAL_TOPICS.alerts) || topic.endsWith(INTERNAL_TOPICS.caseEvents))
    return [{ name: 'retention.ms', value: '-1' }];
  if (topic.endsWith(INTERNAL_TOPICS.alertAcks))
    return [
      { name: 'cleanup.policy', value: 'compact,delete' },
      { name: 'retention.ms', value: String(7 * DAY_MS) },
    ];
  if (topic.endsWith(INTERNAL_TOPICS.caseActions))
    return [{ name: 'retention.ms', value: String(7 * DAY_MS) }];
  if (topic.endsWith(INTERNAL_TOPICS.alertDeadLetters))
    return [{ name: 'retention.ms', value: String(30 * DAY_MS) }];
  if (topic.endsWith(INTERNAL_TOPICS.alertEvaluatorState))
    return [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'max.message.bytes', value: String(64 * 1024 * 1024) },
    ];
  return [];
}
