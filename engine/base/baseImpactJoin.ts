import type { H3Proximity } from '../../operators/geo/H3Proximity.ts';
import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import { type ClickHouseClient, selectCompact } from '../connectors/clickhouse/client.ts';
import { sqlNumber, sqlStringList, tsvField } from '../connectors/clickhouse/sqlLiteral.ts';
import { baseDwellings, baseLegalPersons, baseResidence } from '../connectors/clickhouse/tables/base.ts';
import { qualified, type TableDefinition } from '../connectors/clickhouse/tables/table.ts';
import { AGE_BANDS } from '../contract/baseLibraries.ts';
import type { IncidentOpening } from '../pipeline/incidentImpact.ts';
import {
  type BaseImpact,
  computeBaseImpact,
  type LegalPersonVersion,
  type MemberVersion,
  publicResidents,
  type ResidentVersion,
} from './baseImpact.ts';
import type { BuildingLookup } from './buildingLookup.ts';

export interface BaseImpactRows {
  /** TabSeparated rows of `incident_base_impact` (analysts: residents 1-4 as NULL). */
  readonly publicTsv: string;
  /** TabSeparated rows of `incident_base_impact_exact` (restricted). */
  readonly exactTsv: string;
  readonly impacts: ReadonlyMap<string, BaseImpact>;
}

/** Building ids per member query: ids of up to 64 characters stay under ClickHouse's 256 KiB of query text. */
const ID_LIST = 3_000;

/**
 * Joins a chunk of incidents with the base libraries as they stood at each incident's time: the buildings
 * that ever stood in the cells within reach (every version up to the chunk's last incident, from the
 * in-memory `lookup`, refreshed first), then the dwellings, residents and legal persons of those within the
 * radius (from ClickHouse), then `computeBaseImpact` per incident over its own cells' rows.
 */
export async function joinBaseImpacts(
  client: ClickHouseClient,
  db: { city: string; restricted: string },
  openings: readonly IncidentOpening[],
  radiusM: number,
  proximity: H3Proximity,
  lookup: BuildingLookup,
): Promise<BaseImpactRows> {
  const cells = new Set<string>();
  for (const x of openings) for (const c of proximity.candidates(x.cell)) cells.add(c);
  const last = Math.max(...openings.map((x) => x.ts_ms));
  await lookup.refresh(client);
  const buildings = lookup.around(cells, last);
  const notLater = `valid_from_ms <= ${sqlNumber(last)}`;
  // Members are read only for the buildings some version of which lies within the radius of an incident of
  // the chunk: the candidate cells cover about three times the radius's area.
  const near: string[] = [];
  for (const [id, versions] of buildings.versionsOf)
    if (versions.some((v) => openings.some((x) => haversineMeters(x.lat, x.lon, v.lat, v.lon) <= radiusM)))
      near.push(id);
  const members = await readMembers(client, db, near, notLater);
  const impacts = new Map<string, BaseImpact>();
  let publicTsv = '';
  let exactTsv = '';
  const now = Math.floor(Date.now() / 1000);
  for (const x of openings) {
    const ids = [
      ...new Set(proximity.candidates(x.cell).flatMap((c) => [...(buildings.idsInCell.get(c) ?? [])])),
    ];
    const of = <T>(map: ReadonlyMap<string, T[]>) => ids.flatMap((id) => map.get(id) ?? []);
    const impact = computeBaseImpact(x, x.ts_ms, radiusM, {
      buildings: of(buildings.versionsOf),
      dwellings: of(members.dwellings),
      residents: of(members.residents),
      legalPersons: of(members.legalPersons),
    });
    impacts.set(x.incident_id, impact);
    publicTsv += impactRow(x, radiusM, impact, publicResidents(impact.residents), now);
    exactTsv += impactRow(x, radiusM, impact, impact.residents, now);
  }
  return { publicTsv, exactTsv, impacts };
}

/** Every version (up to `notLater`) of the members of these buildings, by building. */
async function readMembers(
  client: ClickHouseClient,
  db: { city: string; restricted: string },
  buildingIds: readonly string[],
  notLater: string,
) {
  // At most ID_LIST building ids per query: ClickHouse refuses a query text over 256 KiB.
  const idLists: string[] = [];
  for (let i = 0; i < buildingIds.length; i += ID_LIST)
    idLists.push(sqlStringList(buildingIds.slice(i, i + ID_LIST)));
  // Without FINAL, which doubled these reads: of the rows of one version (a correction written later, or
  // a write repeated before ClickHouse merged it away), the latest write is kept here, as FINAL would.
  const read = async <T extends MemberVersion>(
    table: TableDefinition,
    id: string,
    extra: string,
    parse: (r: string[], member: MemberVersion) => T,
  ): Promise<Map<string, T[]>> => {
    const latest = new Map<string, { row: T; writtenAt: number }>();
    for (const list of idLists)
      for (const r of await selectCompact<string[]>(
        client,
        `SELECT building_id, ${id}, toString(valid_from_ms), deleted, toUInt32(written_at)${extra}
          FROM ${qualified(table, db)} WHERE building_id IN ${list} AND ${notLater}`,
      )) {
        const key = `${r[0]}\u0000${r[1]}\u0000${r[2]}`;
        const writtenAt = Number(r[4]);
        const seen = latest.get(key);
        if (seen !== undefined && seen.writtenAt > writtenAt) continue;
        const member = {
          building_id: r[0]!,
          member_id: r[1]!,
          valid_from_ms: Number(r[2]),
          deleted: Number(r[3]),
        };
        latest.set(key, { row: parse(r, member), writtenAt });
      }
    const byBuilding = new Map<string, T[]>();
    for (const { row } of latest.values()) {
      const rows = byBuilding.get(row.building_id);
      if (rows) rows.push(row);
      else byBuilding.set(row.building_id, [row]);
    }
    return byBuilding;
  };
  const [dwellings, residents, legalPersons] = await Promise.all([
    read(baseDwellings, 'dwelling_id', '', (_, m) => m),
    read(
      baseResidence,
      'person_id',
      ', birth_day',
      (r, m): ResidentVersion => ({ ...m, birth_day: Number(r[5]) }),
    ),
    read(
      baseLegalPersons,
      'legal_person_id',
      ', industry',
      (r, m): LegalPersonVersion => ({ ...m, industry: String(r[5]) }),
    ),
  ]);
  return { dwellings, residents, legalPersons };
}

function impactRow(
  x: IncidentOpening,
  radiusM: number,
  impact: BaseImpact,
  residents: Record<string, number | null>,
  computedAt: number,
): string {
  const fields = [
    tsvField(x.incident_id),
    String(x.ts_ms),
    String(Math.floor(x.ts_ms / 1000)),
    tsvField(x.district),
    String(radiusM),
    String(impact.buildings),
    String(impact.dwellings),
    ...AGE_BANDS.map((band) => (residents[band] === null ? '\\N' : String(residents[band]))),
    String(impact.legal_persons),
    tsvField(JSON.stringify(impact.by_industry)),
    tsvField(JSON.stringify(impact.sensitive_sites)),
    tsvField(JSON.stringify(impact.affected_buildings)),
    String(computedAt),
  ];
  return `${fields.join('\t')}\n`;
}
