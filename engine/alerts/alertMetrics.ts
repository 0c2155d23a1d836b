import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of `city-ops alerts` (evaluator and dispatcher), in their own registry so several
 * services can share a test process. Names: `city_ops_alert_<what>_<unit>`.
 */
export function createAlertMetrics(registry = new Registry(), defaults = true) {
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'city_ops_alerts_process_' });
  return {
    registry,
    transitions: new Counter({
      name: 'city_ops_alert_transitions_total',
      help: 'Alert lifecycle transitions published to the outbox, by rule and type',
      labelNames: ['rule', 'type'] as const,
      registers: [registry],
    }),
    aggregatesConsumed: new Counter({
      name: 'city_ops_alert_aggregates_consumed_total',
      help: 'Aggregate messages the evaluator consumed (invalid ones counted apart)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    aggregatesInvalid: new Counter({
      name: 'city_ops_alert_aggregates_invalid_total',
      help: 'Aggregate messages that failed the contract and were skipped',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'city_ops_alert_deliveries_total',
      help: 'Deliveries settled, by endpoint and final status (acknowledged, failed)',
      labelNames: ['endpoint', 'status'] as const,
      registers: [registry],
    }),
    attempts: new Counter({
      name: 'city_ops_alert_delivery_attempts_total',
      help: 'HTTP attempts, by endpoint and outcome (2xx, 4xx, 5xx, timeout, network)',
      labelNames: ['endpoint', 'outcome'] as const,
      registers: [registry],
    }),
    skipped: new Counter({
      name: 'city_ops_alert_deliveries_skipped_total',
      help: 'Deliveries not sent again because the acknowledgement topic had them settled (replays)',
      registers: [registry],
    }),
    withheld: new Counter({
      name: 'city_ops_alert_deliveries_withheld_total',
      help: 'Deliveries not sent because the catalogue lets nothing of alerts.webhooks go to the department',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'city_ops_alert_delivery_seconds',
      help: 'From consuming an alert event from the outbox to its acknowledgement by the endpoint',
      labelNames: ['endpoint'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'city_ops_alert_endpoint_queue_depth',
      help: 'Deliveries waiting, in flight or scheduled for retry, by endpoint',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    outboxUnsettled: new Gauge({
      name: 'city_ops_alert_outbox_unsettled_records',
      help: 'Outbox records consumed whose deliveries are not all settled (offsets not committable)',
      registers: [registry],
    }),
  };
}

export type AlertMetrics = ReturnType<typeof createAlertMetrics>;
