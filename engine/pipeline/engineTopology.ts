import { Topology } from '../../operators/topology/Topology.ts';
import { internalTopic, STREAM_NAMES, streamTopic } from '../contract/topics.ts';
import type { EngineOptions } from './engineOptions.ts';
import { PartitionPipeline } from './partitionPipeline.ts';

/**
 * The engine's processing graph as data, printed by `city-ops run --describe`. Each stream's part is read
 * from the stages of a `PartitionPipeline`, the same objects that wire the RxJS graph every partition runs
 * in the worker thread that owns it; the rest runs in the main thread (writes, commits, live publishing)
 * or in the finalizer.
 */
export function engineTopology(
  options: EngineOptions,
  db: { city: string; restricted: string },
  prefix = '',
): Topology {
  const t = new Topology();
  for (const stream of STREAM_NAMES) {
    const topic = streamTopic(stream, prefix);
    const pipeline = new PartitionPipeline(stream, topic, 0, options, undefined, 0);
    for (const stage of pipeline.stages) {
      const name = `${stream}.${stage.name}`;
      const parents = stage.parents.map((p) => `${stream}.${p}`);
      const detail =
        stage.kind === 'source'
          ? `topic ${topic}, each partition its own graph in the worker that owns it (of ${options.workers})`
          : stage.detail;
      if (stage.kind === 'source') t.addSource(name, { detail });
      else if (stage.kind === 'sink') t.addSink(name, parents, { detail });
      else t.addOperator(name, parents, { detail });
    }
  }
  return t
    .addSource('final-tables', {
      detail: `${db.city}: window_partials, events_atomic, transport_atomic, population_atomic, read back by the finalizer (main thread) once final`,
    })
    .addOperator('district-pulse', ['final-tables'], {
      detail: 'window partials of the 3 streams side by side + incident lifecycles',
    })
    .addOperator('incident-impact', ['final-tables'], {
      detail: `interval join incidents x vehicles (${options.impactRadiusM} m, ${options.impactBandMs} ms), latest population in ${options.impactRings} H3 ring(s), and the base libraries as of the incident within ${options.impactRadiusM} m (incident_base_impact)`,
    })
    .addSink('joined-store', ['district-pulse', 'incident-impact'], {
      detail: `${db.city}.district_pulse, ${db.city}.incident_impact; topic: ${internalTopic('aggregates', prefix)}`,
    });
}
