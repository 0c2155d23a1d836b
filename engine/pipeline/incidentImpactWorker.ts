import type { ClickHouseClient } from '@clickhouse/client';
import type { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import type { Environment } from '../config/environment.ts';
import { createClickHouse } from '../connectors/clickhouse/client.ts';
import {
  type ImpactJoinOptions,
  type IncidentOpening,
  impactProximity,
  type JoinedImpacts,
  joinIncidentImpacts,
} from './incidentImpact.ts';

/** What the finalizer hands to its join thread for one chunk of incidents. */
export interface ImpactJoinTask {
  readonly env: Environment;
  readonly city: string;
  readonly openings: readonly IncidentOpening[];
  readonly options: ImpactJoinOptions;
}

/** The thread's ClickHouse client, made at the first task and kept (one per endpoint and user). */
let connection: { key: string; client: ClickHouseClient } | undefined;
const proximities = new Map<number, H3Proximity>();

/**
 * The finalizer's join thread (a piscina pool of one): reads the positions and counts around a chunk of
 * incidents from ClickHouse, parses them and joins them, and hands back the rows and messages to write.
 * No Kafka here: the client's native addon does not load in worker threads, so the finalizer publishes.
 */
export async function runImpactJoin(task: ImpactJoinTask): Promise<JoinedImpacts> {
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
  return joinIncidentImpacts(connection.client, task.city, task.openings, task.options, proximity);
}
