/**
 * Kafka topics of the exchange. The three `city.*` stream topics are the public contract that
 * departments publish to; the others are city-ops' own.
 */
export const STREAM_TOPICS = {
  transport: 'city.transport',
  events: 'city.events',
  population: 'city.population',
} as const;

export type StreamName = keyof typeof STREAM_TOPICS;
export const STREAM_NAMES = Object.keys(STREAM_TOPICS) as StreamName[];

/** city-ops' own topics: dead letters, live aggregates for the map servers, the alert outbox. */
export const INTERNAL_TOPICS = {
  deadLetters: 'city.dead-letters',
  aggregates: 'city.aggregates',
  alerts: 'city.alerts',
} as const;

/** Every topic `city-ops stack up` (and `city-ops migrate`) makes sure exists. */
export const ALL_TOPICS: readonly string[] = [
  ...Object.values(STREAM_TOPICS),
  ...Object.values(INTERNAL_TOPICS),
];
