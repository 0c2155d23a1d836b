import type { Aggregate } from '../../operators/aggregates/Aggregate.ts';
import type { DistrictWindowMeasures } from '../contract/aggregates.ts';
import type { StreamName } from '../contract/topics.ts';

/** What the window of a district receives for each accepted record (fields a stream does not use are 0). */
export interface DistrictWindowInput {
  readonly stream: StreamName;
  /** Event time, epoch ms. */
  readonly ts: number;
  /** Position in the source partition (Kafka offset): breaks ties of event time, the later report wins. */
  readonly seq: number;
  /** transport: vehicle; events: incident_id; population: H3 cell. */
  readonly entity: string;
  /** transport: speed km/h (NaN when not reported); events: severity; population: people present. */
  readonly measure: number;
  /** events: 'open' | 'closed'. */
  readonly label: string;
  readonly inflow: number;
  readonly outflow: number;
}

/** The mergeable state of one district window. */
export interface DistrictWindowState {
  events: number;
  entities: Set<string>;
  speedSum: number;
  speedCount: number;
  opened: number;
  closed: number;
  severe: number;
  /** population: latest report per cell in the window (by event time, then by offset on ties). */
  latest: Map<string, { ts: number; seq: number; present: number }>;
  inflow: number;
  outflow: number;
}

/** The figures of one district window (what `city.window_partials` stores). */
export type DistrictWindowValues = DistrictWindowMeasures;

/**
 * One aggregate for the per-minute district windows of all three streams: counts, distinct entities
 * (vehicles, incidents, cells), speed sum and count, incident reports by status, severe reports, people
 * present (sum over cells of each cell's latest count in the window) and flows.
 *
 * A single purpose-built aggregate instead of `aggregateAll` of ten generic ones: the engine folds every
 * accepted record into it in the main thread, and one object per window keeps that loop allocation-free.
 * It is exact and mergeable (sets and per-cell maps merge by union / latest-wins), so partials from
 * different partitions or processes combine into the figures one process would compute.
 */
export function districtWindowAggregate(): Aggregate<
  DistrictWindowInput,
  DistrictWindowState,
  DistrictWindowValues
> {
  return {
    name: 'districtWindow',
    empty: () => ({
      events: 0,
      entities: new Set(),
      speedSum: 0,
      speedCount: 0,
      opened: 0,
      closed: 0,
      severe: 0,
      latest: new Map(),
      inflow: 0,
      outflow: 0,
    }),
    add(state, v) {
      state.events += 1;
      state.entities.add(v.entity);
      switch (v.stream) {
        case 'transport':
          if (!Number.isNaN(v.measure)) {
            state.speedSum += v.measure;
            state.speedCount += 1;
          }
          break;
        case 'events':
          if (v.label === 'open') state.opened += 1;
          else state.closed += 1;
          if (v.measure >= 4) state.severe += 1;
          break;
        case 'population': {
          const previous = state.latest.get(v.entity);
          if (!previous || v.ts > previous.ts || (v.ts === previous.ts && v.seq > previous.seq)) {
            state.latest.set(v.entity, { ts: v.ts, seq: v.seq, present: v.measure });
          }
          state.inflow += v.inflow;
          state.outflow += v.outflow;
          break;
        }
      }
      return state;
    },
    merge(a, b) {
      const latest = new Map(a.latest);
      for (const [cell, report] of b.latest) {
        const previous = latest.get(cell);
        // The same rule as `add`: later event time, then later offset, so a split never changes the winner.
        if (
          !previous ||
          report.ts > previous.ts ||
          (report.ts === previous.ts && report.seq > previous.seq)
        ) {
          latest.set(cell, report);
        }
      }
      return {
        events: a.events + b.events,
        entities: new Set([...a.entities, ...b.entities]),
        speedSum: a.speedSum + b.speedSum,
        speedCount: a.speedCount + b.speedCount,
        opened: a.opened + b.opened,
        closed: a.closed + b.closed,
        severe: a.severe + b.severe,
        latest,
        inflow: a.inflow + b.inflow,
        outflow: a.outflow + b.outflow,
      };
    },
    result(state) {
      let present = 0;
      for (const report of state.latest.values()) present += report.present;
      return {
        events: state.events,
        distinct_keys: state.entities.size,
        speed_sum: state.speedSum,
        speed_count: state.speedCount,
        opened: state.opened,
        closed: state.closed,
        severe: state.severe,
        present,
        inflow: state.inflow,
        outflow: state.outflow,
      };
    },
    toJSON: (state) => ({ ...state, entities: [...state.entities], latest: [...state.latest] }),
    fromJSON(json) {
      const j = json as Omit<DistrictWindowState, 'entities' | 'latest'> & {
        entities: string[];
        latest: [string, { ts: number; seq: number; present: number }][];
      };
      return { ...j, entities: new Set(j.entities), latest: new Map(j.latest) };
    },
  };
}
