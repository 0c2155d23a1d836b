import type { ClickHouseClient } from '@clickhouse/client';
import type { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import { publicBaseImpact } from '../base/baseImpact.ts';
import { type BaseImpactRows, joinBaseImpacts, rejoinChanged } from '../base/baseImpactJoin.ts';
import { BaseLookup } from '../base/baseLookup.ts';
import type { Environment } from '../config/environment.ts';
import { createClickHouse } from '../connectors/clickhouse/client.ts';
import type { IncidentImpactMessage } from '../contract/aggregates.ts';
import {
  type ImpactJoinOptions,
  type IncidentOpening,
  impactProximity,
  type JoinedImpacts,
  joinIncidentImpacts,
} from './incidentImpact.ts';

/** The base libraries' impact rows for both of their tables, and what a later check of them needs. */
export interface BaseRows {
  readonly publicTsv: string;
  readonly exactTsv: string;
  readonly computedAt: number;
  readonly generation: number;
}

/** Base rows joined again, with their public figures per incident for the map's messages. */
export interface BaseRowsAgain extends BaseRows {
  readonly figures: ReadonlyArray<[string, IncidentImpactMessage['base']]>;
}

/** A chunk's joins: incident_impact, and the base libraries' impact. */
export interface JoinedChunk extends JoinedImpacts {
  readonly base: BaseRows;
}

/** After a chunk's rows are written: its incidents, and the base rows' computed_at and generation. */
export interface BaseRecheckTask extends ImpactJoinTask {
  readonly previous: Pick<BaseRows, 'computedAt' | 'generation'>;
}

/** What the finalizer hands to its join thread for one chunk of incidents. */
export interface ImpactJoinTask {
  readonly env: Environment;
  readonly city: string;
  /** The restricted database: the base libraries' residents, and the exact impact counts. */
  readonly restricted: string;
  readonly openings: readonly IncidentOpening[];
  readonly options: ImpactJoinOptions;
}

/** The thread's ClickHouse client, made at the first task and kept (one per endpoint and user). */
let connection: { key: string; client: ClickHouseClient } | undefined;
const proximities = new Map<number, H3Proximity>();
/** The buildings in memory, per city database, loaded at the first task and read forward at each. */
const lookups = new Map<string, BaseLookup>();

/**
 * The finalizer's join thread (a piscina pool of one): reads the positions and counts around a chunk of
 * incidents from ClickHouse, parses them and joins them, and hands back the rows and messages to write.
 * No Kafka here: the client's native addon does not load in worker threads, so the finalizer publishes.
 */
export async function runImpactJoin(task: ImpactJoinTask): Promise<JoinedChunk> {
  const { client, proximity, lookup } = await threadState(task);
  const [joined, base] = await Promise.all([
    joinIncidentImpacts(client, task.city, task.openings, task.options, proximity),
    joinBaseImpacts(client, task.openings, task.options.radiusM, proximity, lookup),
  ]);
  const messages = joined.messages.map((m) => {
    const impact = base.impacts.get(m.incident_id);
    return impact ? { ...m, base: publicBaseImpact(impact) } : m;
  });
  return { ...joined, messages, base: baseRows(base) };
}

/**
 * The base rows of the chunk's incidents that a change written since its join touched, joined again
 * (`rejoinChanged`), or undefined when none was.
 */
export async function recheckBaseImpacts(task: BaseRecheckTask): Promise<BaseRowsAgain | undefined> {
  const { client, proximity, lookup } = await threadState(task);
  const { openings, options, previous } = task;
  const again = await rejoinChanged(client, openings, options.radiusM, proximity, lookup, previous);
  if (again === undefined) return undefined;
  const figures = [...again.impacts].map(([id, impact]): [string, IncidentImpactMessage['base']] => [
    id,
    publicBaseImpact(impact),
  ]);
  return { ...baseRows(again), figures };
}

/** What crosses back to the finalizer of a join's base rows (not the impacts: the messages carry them). */
function baseRows({ publicTsv, exactTsv, computedAt, generation }: BaseImpactRows): BaseRows {
  return { publicTsv, exactTsv, computedAt, generation };
}

/** The thread's client, proximity and lookup for a task, made at the first task that needs them. */
async function threadState(task: ImpactJoinTask) {
  const { env } = task;
  const key = `${env.CLICKHOUSE_URL}|${env.CLICKHOUSE_USER}|${env.CLICKHOUSE_PASSWORD}`;
  if (connection?.key !== key) {
    await connection?.client.close();
    connection = { key, client: createClickHouse(env) };
  }
  let proximity = proximities.get(task.options.radiusM);
  if (proximity === undefined) {
    proximity = impactProximity(task.options.radiusM);
    proximities.set(task.options.radiusM, proximity);
  }
  const db = { city: task.city, restricted: task.restricted };
  let lookup = lookups.get(`${key}|${db.city}`);
  if (lookup === undefined) {
    lookup = new BaseLookup(db);
    lookups.set(`${key}|${db.city}`, lookup);
  }
  return { client: connection.client, proximity, lookup };
}
