import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one map server (its own registry, so that several servers in one process, as in
 * tests and the quick start, do not clash). Served at `/metrics`.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly clients = new Gauge({
    name: 'city_map_clients',
    help: 'WebSocket clients connected now',
    registers: [this.registry],
  });
  readonly laggingClients = new Gauge({
    name: 'city_map_lagging_clients',
    help: 'Clients currently behind (their buffer passed the high-water mark; deltas are skipped for them)',
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'city_map_exchange_deliveries_total',
    help: 'Deliveries to consumers, as the exchange ledger records them: WebSocket frames and history answers, by exit and consumer',
    labelNames: ['exit', 'consumer'],
    registers: [this.registry],
  });
  readonly exchangeToday = new Gauge({
    name: 'city_exchange_transactions_today',
    help: "Exchange transactions in the city's day so far (UTC+8), from ClickHouse: records the providers sent (outcome accepted or rejected, by event time) and records the exchange delivered to its consumers (outcome delivered)",
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly connections = new Counter({
    name: 'city_map_connections_total',
    help: 'WebSocket connections accepted',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'city_map_rejected_total',
    help: 'WebSocket upgrades refused, by reason (token, origin)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly disconnects = new Counter({
    name: 'city_map_disconnects_total',
    help: 'Connections closed, by reason (client, slow_consumer, buffer_limit, shutdown)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly deltasPublished = new Counter({
    name: 'city_map_deltas_published_total',
    help: 'Deltas serialised and published (once per topic and tick, whatever the number of subscribers)',
    labelNames: ['layer'],
    registers: [this.registry],
  });
  readonly bytesPublished = new Counter({
    name: 'city_map_delta_bytes_total',
    help: 'Bytes of the deltas serialised (before fan-out)',
    labelNames: ['layer'],
    registers: [this.registry],
  });
  readonly snapshots = new Counter({
    name: 'city_map_snapshots_sent_total',
    help: 'Snapshots sent to clients',
    registers: [this.registry],
  });
  readonly resumes = new Counter({
    name: 'city_map_resumes_total',
    help: 'Topics resumed by reconnecting clients, by outcome (catchup, current, snapshot)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly slowEvents = new Counter({
    name: 'city_map_slow_client_events_total',
    help: 'Times a client fell behind (buffer over the high-water mark) and switched to latest-value catch-up',
    registers: [this.registry],
  });
  readonly deltasSkipped = new Counter({
    name: 'city_map_deltas_skipped_total',
    help: 'Deltas not sent to a lagging client (replaced by one compacted catch-up: latest value wins)',
    registers: [this.registry],
  });
  readonly catchups = new Counter({
    name: 'city_map_catchups_sent_total',
    help: 'Compacted catch-ups sent to clients that caught up or resumed',
    registers: [this.registry],
  });
  readonly aggregates = new Counter({
    name: 'city_map_aggregates_consumed_total',
    help: 'Aggregate messages read from Kafka, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly httpErrors = new Counter({
    name: 'city_map_handler_errors_total',
    help: 'HTTP and WebSocket handlers that threw (answered 500 or closed 1011; the server kept serving), by route',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly invalidMessages = new Counter({
    name: 'city_map_invalid_messages_total',
    help: 'Kafka records of the aggregates or alerts topics that broke the contract and were skipped',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly badClientMessages = new Counter({
    name: 'city_map_bad_client_messages_total',
    help: 'Client messages that were not valid protocol messages',
    registers: [this.registry],
  });
  readonly flushDuration = new Histogram({
    name: 'city_map_flush_duration_seconds',
    help: 'Time to serialise and publish the deltas of one tick',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly consumeLag = new Gauge({
    name: 'city_map_consume_lag_seconds',
    help: 'Wall clock minus the Kafka timestamp of the newest aggregate read',
    registers: [this.registry],
  });
  readonly dataLag = new Gauge({
    name: 'city_map_data_lag_seconds',
    help: 'Wall clock minus the event-time watermark of each input stream (how far behind real time the map is)',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly maxClientBuffer = new Gauge({
    name: 'city_map_client_buffer_max_bytes',
    help: 'Largest per-client send buffer seen at the last tick',
    registers: [this.registry],
  });
  readonly resumeBufferBytes = new Gauge({
    name: 'city_map_resume_buffer_bytes',
    help: 'Bytes of recent deltas kept for resumes, all topics',
    registers: [this.registry],
  });
  readonly topics = new Gauge({
    name: 'city_map_topics',
    help: 'Topics with state',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'city_map_' });
  }
}
