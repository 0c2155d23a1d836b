import { Topology } from '../../operators/topology/Topology.ts';
import { internalTopic, STREAM_NAMES, streamTopic } from '../contract/topics.ts';
import type { EngineOptions } from './engineOptions.ts';

/**
 * The engine's processing graph as data, printed by `city-ops run --describe`. It names what runs where:
 * sources are the exchange topics, `decode-validate-enrich` runs in the worker threads, windows run per
 * source partition in the main thread, the finalizer joins what is final.
 */
export function engineTopology(
  options: EngineOptions,
  db: { city: string; restricted: string },
  prefix = '',
): Topology {
  const t = new Topology();
  for (const stream of STREAM_NAMES) t.addSource(stream, { detail: `topic: ${streamTopic(stream, prefix)}` });
  t.addOperator('decode-validate-enrich', STREAM_NAMES, {
    detail: `piscina workers x${options.workers}: contract check, district (polygon grid index), H3 res 8`,
  })
    .addSink('dead-letters', ['decode-validate-enrich'], {
      detail: `topic: ${internalTopic('deadLetters', prefix)}; ${db.city}.dead_letters (masked); ${db.restricted}.dead_letters_raw`,
    })
    .addSink('atomic-store', ['decode-validate-enrich'], {
      detail: `${db.city}.transport_atomic, ${db.city}.events_atomic (masked), ${db.city}.population_atomic`,
    })
    .addSink('restricted-raw', ['decode-validate-enrich'], {
      detail: `${db.restricted}.events_raw (personal data)`,
    })
    .addOperator('district-windows', ['decode-validate-enrich'], {
      detail: `TumblingWindows(size=${options.windowSizeMs}ms, grace=${options.graceMs}ms) per partition, watermark max-${options.outOfOrdernessMs}ms, dedup by id`,
    })
    .addSink('window-partials', ['district-windows'], {
      detail: `${db.city}.window_partials (final, per partition)`,
    })
    .addSink('late-events', ['district-windows'], { detail: `${db.city}.late_events` })
    .addSink('live-aggregates', ['district-windows', 'decode-validate-enrich'], {
      detail: `topic: ${internalTopic('aggregates', prefix)}`,
    })
    .addOperator('district-pulse', ['district-windows', 'decode-validate-enrich'], {
      detail: 'finalizer, once final: window partials of the 3 streams side by side + incident lifecycles',
    })
    .addOperator('incident-impact', ['decode-validate-enrich'], {
      detail: `finalizer, once final: interval join incidents x vehicles (${options.impactRadiusM} m, ${options.impactBandMs} ms), latest population in ${options.impactRings} H3 ring(s)`,
    })
    .addSink('joined-store', ['district-pulse', 'incident-impact'], {
      detail: `${db.city}.district_pulse, ${db.city}.incident_impact; topic: ${internalTopic('aggregates', prefix)}`,
    });
  return t;
}
