import type { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { tsvField } from '../connectors/clickhouse/sqlLiteral.ts';
import { AGE_BANDS } from '../contract/baseLibraries.ts';
import type { IncidentOpening } from '../pipeline/incidentImpact.ts';
import { type BaseImpact, computeBaseImpact, publicResidents } from './baseImpact.ts';
import type { BaseLookup } from './baseLookup.ts';

export interface BaseImpactRows {
  /** TabSeparated rows of `incident_base_impact` (analysts: residents 1-4 as NULL). */
  readonly publicTsv: string;
  /** TabSeparated rows of `incident_base_impact_exact` (restricted). */
  readonly exactTsv: string;
  readonly impacts: ReadonlyMap<string, BaseImpact>;
  /** The rows' `computed_at` (epoch seconds): rows that replace them must be written in a later second. */
  readonly computedAt: number;
  /** The lookup's generation the join read (`BaseLookup.generation`). */
  readonly generation: number;
}

/**
 * Joins a chunk of incidents with the base libraries as they stood at each incident's time, from the
 * engine's in-memory copy (`lookup`, read forward first): the buildings that ever stood in the cells within
 * reach, then `computeBaseImpact` per incident over its own cells' buildings and their members.
 */
export async function joinBaseImpacts(
  client: ClickHouseClient,
  openings: readonly IncidentOpening[],
  radiusM: number,
  proximity: H3Proximity,
  lookup: BaseLookup,
): Promise<BaseImpactRows> {
  await lookup.refresh(client);
  const impacts = new Map<string, BaseImpact>();
  let publicTsv = '';
  let exactTsv = '';
  const now = Math.floor(Date.now() / 1000);
  for (const x of openings) {
    const buildings = lookup.buildings.near(proximity.candidates(x.cell), x.ts_ms, { ...x, radiusM });
    const impact = computeBaseImpact(x, x.ts_ms, radiusM, buildings, lookup);
    impacts.set(x.incident_id, impact);
    // The two rows differ only in the residents: everything else is made once.
    const before = [
      tsvField(x.incident_id),
      String(x.ts_ms),
      String(Math.floor(x.ts_ms / 1000)),
      tsvField(x.district),
      String(radiusM),
      String(impact.buildings),
      String(impact.dwellings),
    ].join('\t');
    const after = [
      String(impact.legal_persons),
      tsvField(JSON.stringify(impact.by_industry)),
      tsvField(JSON.stringify(impact.sensitive_sites)),
      tsvField(JSON.stringify(impact.affected_buildings)),
      String(now),
    ].join('\t');
    const row = (residents: Record<string, number | null>) =>
      `${before}\t${AGE_BANDS.map((band) => (residents[band] === null ? '\\N' : String(residents[band]))).join('\t')}\t${after}\n`;
    publicTsv += row(publicResidents(impact.residents));
    exactTsv += row(impact.residents);
  }
  return { publicTsv, exactTsv, impacts, computedAt: now, generation: lookup.generation };
}

/**
 * After a join's rows are written: joins again those of its incidents near a building that a change
 * written since the join's read has touched, or returns undefined when there are none. A feed applier that
 * wrote the change before this join's rows landed did not see them, and so did not join them again itself
 * (rejoin.ts); this closes that window. Call it until it returns undefined.
 */
export async function rejoinChanged(
  client: ClickHouseClient,
  openings: readonly IncidentOpening[],
  radiusM: number,
  proximity: H3Proximity,
  lookup: BaseLookup,
  previous: Pick<BaseImpactRows, 'computedAt' | 'generation'>,
): Promise<BaseImpactRows | undefined> {
  await lookup.refresh(client);
  const due = openings.filter((x) => lookup.changedSince(proximity.candidates(x.cell), previous.generation));
  if (due.length === 0) return undefined;
  // ReplacingMergeTree(computed_at) keeps the later second.
  while (Math.floor(Date.now() / 1000) <= previous.computedAt)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return joinBaseImpacts(client, due, radiusM, proximity, lookup);
}
