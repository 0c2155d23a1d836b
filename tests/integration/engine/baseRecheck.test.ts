import { latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinBaseImpacts, rejoinChanged } from '../../../engine/base/baseImpactJoin.ts';
import { BaseLookup } from '../../../engine/base/baseLookup.ts';
import { BaseWriter, GENERATED_VALID_FROM } from '../../../engine/base/baseWriter.ts';
import { loadBase } from '../../../engine/base/loadBase.ts';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import {
  BASE_LIBRARY_TABLES,
  baseBuildings,
  baseResidence,
} from '../../../engine/connectors/clickhouse/tables/base.ts';
import { createTable } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { CELL_RESOLUTION } from '../../../engine/geo/cells.ts';
import { type IncidentOpening, impactProximity } from '../../../engine/pipeline/incidentImpact.ts';
import { BaseRecount } from '../../helpers/baseRecount.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const RADIUS_M = 500;
const T0 = Date.UTC(2026, 5, 1, 2, 0);
const CHANGE_AT = T0 - 3_600_000;

/**
 * The window between a join's read of the libraries and its rows landing (docs/base.md): a change written
 * in it reaches back before the incidents, and the feed applier, looking before the rows landed, would not
 * join them again. `rejoinChanged`, which the finalizer calls after writing a chunk, does.
 */
describe('base impacts checked again after they are written (ClickHouse)', () => {
  const client = createClickHouse(testEnv, 'engine', { requestTimeoutMs: 120_000 });
  const suffix = uniqueSuffix();
  const db = { city: `test_recheck_${suffix}`, restricted: `test_recheck_r_${suffix}` };
  const recount = new BaseRecount();
  const proximity = impactProximity(RADIUS_M);
  const lookup = new BaseLookup(db);
  let openings: IncidentOpening[] = [];

  beforeAll(async () => {
    for (const name of Object.values(db)) await client.command({ query: `CREATE DATABASE ${name}` });
    for (const table of BASE_LIBRARY_TABLES) await client.command({ query: createTable(table, db) });
    await loadBase(client, db, { scale: 0.005, seed: 3, tee: recount });
    const sites = [recount.buildingRows[0]!, recount.buildingRows.at(-1)!];
    openings = [...sites.map((b) => [b.lat, b.lon] as const), [22.3, 114.6] as const].map(
      ([lat, lon], i) => ({
        incident_id: `inc-${i}`,
        id: `r-${i}`,
        ts_ms: T0,
        district: '440304',
        category: 'fire',
        severity: 3,
        lat,
        lon,
        cell: latLngToCell(lat, lon, CELL_RESOLUTION),
      }),
    );
  }, 180_000);
  afterAll(async () => {
    for (const name of Object.values(db)) await client.command({ query: `DROP DATABASE IF EXISTS ${name}` });
    await client.close();
  });

  it('joins again the incidents near a change written after their join, and only those', async () => {
    const joined = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    expect(await rejoinChanged(client, openings, RADIUS_M, proximity, lookup, joined)).toBeUndefined();

    // Written after the join read the libraries (and in a later second than the load): the first site
    // demolished, its residents' registrations ended.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const site = recount.buildingRows[0]!;
    const change = { source: 'feed' as const, provenance: 'test', valid_from_ms: CHANGE_AT };
    await new BaseWriter(client, db).write(baseBuildings, [{ ...site, ...change, deleted: 1 as const }]);
    recount.changes.push({ kind: 'demolish', building_id: site.building_id, at: CHANGE_AT });
    const residents = recount.personRows.filter((p) => p.building_id === site.building_id);
    await new BaseWriter(client, db).write(
      baseResidence,
      residents.map((p) => ({ ...p, ...change, deleted: 1 as const })),
    );

    const again = await rejoinChanged(client, openings, RADIUS_M, proximity, lookup, joined);
    expect([...(again?.impacts.keys() ?? [])]).toEqual(['inc-0']);
    expect(again!.computedAt).toBeGreaterThan(joined.computedAt);
    const got = again!.impacts.get('inc-0')!;
    const want = recount.impact(openings[0]!.lat, openings[0]!.lon, T0, RADIUS_M);
    expect({ b: got.buildings, d: got.dwellings, r: got.residents, l: got.legal_persons }).toEqual({
      b: want.buildings,
      d: want.dwellings,
      r: want.residents,
      l: want.legal_persons,
    });
    expect(got.buildings).toBe(joined.impacts.get('inc-0')!.buildings - 1);
    expect(await rejoinChanged(client, openings, RADIUS_M, proximity, lookup, again!)).toBeUndefined();
  });

  it('reads rows written again as they were without calling them changes, and compacts what they leave', async () => {
    const joined = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    const versions = lookup.residentColumns.rows;
    // Every resident's first version written again twice (a replayed load): each read replaces every
    // building's range with an equal one.
    const again = recount.personRows.map((p) => ({
      ...p,
      deleted: 0 as const,
      source: 'generator' as const,
      provenance: 'replayed',
      valid_from_ms: GENERATED_VALID_FROM,
    }));
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await new BaseWriter(client, db).write(baseResidence, again);
      expect(await rejoinChanged(client, openings, RADIUS_M, proximity, lookup, joined)).toBeUndefined();
      // Compacted whenever the replaced ranges outnumber the live rows: never twice the live rows.
      expect(lookup.residentColumns.rows).toBe(versions);
      expect(lookup.residentColumns.unused).toBeLessThanOrEqual(versions);
    }
    const after = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    for (const x of openings)
      expect(after.impacts.get(x.incident_id)).toEqual(joined.impacts.get(x.incident_id));
  });
});
