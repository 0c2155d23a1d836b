import type { ClickHouseClient } from '@clickhouse/client';
import type { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import { publicBaseImpact } from '../base/baseImpact.ts';
import { joinBaseImpacts } from '../base/baseImpactJoin.ts';
import { BaseLookup } from '../base/baseLookup.ts';
import type { Environment } from '../config/environment.ts';
import { createClickHouse } from '../connectors/clickhouse/client.ts';
import {
  type ImpactJoinOptions,
  type IncidentOpening,
  impactProximity,
  type JoinedImpacts,
  joinIncidentImpacts,
} from './incidentImpact.ts';

/** A chunk's joins: incident_impact, and the base libraries' impact for both of its tables. */
export interface JoinedChunk extends JoinedImpacts {
  readonly base: { readonly publicTsv: string; readonly exactTsv: string };
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
  const [joined, base] = await Promise.all([
    joinIncidentImpacts(connection.client, task.city, task.openings, task.options, proximity),
    joinBaseImpacts(connection.client, task.openings, task.options.radiusM, proximity, lookup),
  ]);
  const messages = joined.messages.map((m) => {
    const impact = base.impacts.get(m.incident_id);
    return impact ? { ...m, base: publicBaseImpact(impact) } : m;
  });
  return { ...joined, messages, base: { publicTsv: base.publicTsv, exactTsv: base.exactTsv } };
}
