import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The engine's Prometheus metrics, in their own registry (several engines can share a test process).
 * Names follow Prometheus conventions: `city_ops_<what>_<unit>`, counters end in `_total`.
 */
export function createEngineMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'city_ops_process_' });
  const labels = ['stream'] as const;
  return {
    registry,
    consumed: new Counter({
      name: 'city_ops_records_consumed_total',
      help: 'Kafka messages consumed',
      labelNames: labels,
      registers: [registry],
    }),
    accepted: new Counter({
      name: 'city_ops_records_accepted_total',
      help: 'Records that passed the exchange contract',
      labelNames: labels,
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'city_ops_records_dead_lettered_total',
      help: 'Records sent to the dead letters, by reason',
      labelNames: ['stream', 'reason'] as const,
      registers: [registry],
    }),
    late: new Counter({
      name: 'city_ops_records_late_total',
      help: 'Records behind watermark - grace (late output)',
      labelNames: labels,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'city_ops_records_duplicate_total',
      help: 'Repeated event ids counted once',
      labelNames: labels,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'city_ops_partition_lag_records',
      help: 'Messages between the partition end and what the engine has applied',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    watermark: new Gauge({
      name: 'city_ops_partition_watermark_seconds',
      help: 'Event-time watermark of the partition, epoch seconds',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    batchLatency: new Histogram({
      name: 'city_ops_batch_seconds',
      help: 'Time from dispatching a batch to a worker until it is applied',
      labelNames: labels,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    flushLatency: new Histogram({
      name: 'city_ops_flush_seconds',
      help: 'Time to write one flush (all tables, dead-letter topic) and commit offsets',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    flushFailures: new Counter({
      name: 'city_ops_flush_failures_total',
      help: 'Flush attempts that failed and will be retried',
      registers: [registry],
    }),
    commitFailures: new Counter({
      name: 'city_ops_commit_failures_total',
      help: 'Partition offsets whose commit the group coordinator refused (committed again at the next flush)',
      registers: [registry],
    }),
    rowsWritten: new Counter({
      name: 'city_ops_rows_written_total',
      help: 'Rows written to ClickHouse, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    threadBusy: new Gauge({
      name: 'city_ops_engine_thread_busy_seconds',
      help: 'Time each engine thread spent working since it started (main: its event loop not idle; worker-N: running partition tasks)',
      labelNames: ['thread'] as const,
      registers: [registry],
    }),
    finalizerWatermark: new Gauge({
      name: 'city_ops_finalizer_watermark_seconds',
      help: 'The final watermark (event time, epoch seconds) of the finalizer’s last round: every window before it is closed',
      registers: [registry],
    }),
    finalizerBehind: new Gauge({
      name: 'city_ops_finalizer_behind_seconds',
      help: 'Event time a joined table could be finalized through (the final watermark) and is not yet, by table; 0 when caught up',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    windowsClosed: new Counter({
      name: 'city_ops_windows_closed_total',
      help: 'Final window partials written',
      labelNames: labels,
      registers: [registry],
    }),
  };
}

export type EngineMetrics = ReturnType<typeof createEngineMetrics>;

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /health` (JSON from `health()`, 200 when `ok`, else 503)
 * on 127.0.0.1:`port` (0 picks a free port). Resolves with the server once it listens.
 */
export function serveMetrics(
  registry: Registry,
  port: number,
  health: () => { ok: boolean; [key: string]: unknown },
  host = '127.0.0.1',
): Promise<Server> {
  const server = createServer(async (request, response) => {
    try {
      if (request.url === '/metrics') {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(await registry.metrics());
      } else if (request.url === '/health') {
        const body = health();
        response.writeHead(body.ok ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not found: try /metrics or /health\n');
      }
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
