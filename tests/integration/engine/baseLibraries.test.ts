import { latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinBaseImpacts } from '../../../engine/base/baseImpactJoin.ts';
import { BaseLookup } from '../../../engine/base/baseLookup.ts';
import { BaseWriter } from '../../../engine/base/baseWriter.ts';
import { loadBase } from '../../../engine/base/loadBase.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { createClickHouse, selectRows } from '../../../engine/connectors/clickhouse/client.ts';
import { statements as martStatements } from '../../../engine/connectors/clickhouse/migrations/0401_base_impact_mart.ts';
import { ClickHouseSink } from '../../../engine/connectors/clickhouse/sink.ts';
import {
  BASE_LIBRARY_TABLES,
  baseBuildings,
  baseLegalPersons,
  baseResidence,
  incidentBaseImpact,
  incidentBaseImpactExact,
} from '../../../engine/connectors/clickhouse/tables/base.ts';
import { columnNames, createTable, qualified } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { AGE_BANDS, INDUSTRIES, suppressSmall } from '../../../engine/contract/baseLibraries.ts';
import { CELL_RESOLUTION } from '../../../engine/geo/cells.ts';
import { type IncidentOpening, impactProximity } from '../../../engine/pipeline/incidentImpact.ts';
import { BaseRecount } from '../../helpers/baseRecount.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const RADIUS_M = 500;
const T0 = Date.UTC(2026, 5, 1, 2, 0); // 10:00 on 1 June 2026 in Shenzhen
const T1 = T0 + 3_600_000; // the changes
const T2 = T1 + 3_600_000;

/**
 * The base libraries at scale 0.01 on the real ClickHouse (issue 18): an incident's impact, as the libraries
 * stood at its time, equals a brute-force recount of the generated rows, before and after residents move,
 * a building is demolished and a chemical plant opens.
 */
describe('base libraries joined to incidents as of their time (ClickHouse)', async () => {
  const client = createClickHouse(testEnv, 'engine', { requestTimeoutMs: 120_000 });
  const suffix = uniqueSuffix();
  const db = { city: `test_base_${suffix}`, restricted: `test_base_r_${suffix}` };
  const recount = new BaseRecount();
  const proximity = impactProximity(RADIUS_M);
  const lookup = new BaseLookup(db);
  let openings: IncidentOpening[] = [];

  beforeAll(async () => {
    for (const name of Object.values(db)) await client.command({ query: `CREATE DATABASE ${name}` });
    for (const table of [...BASE_LIBRARY_TABLES, incidentBaseImpact, incidentBaseImpactExact])
      await client.command({ query: createTable(table, db) });
    await loadBase(client, db, { scale: 0.01, seed: 1, tee: recount });
    // Incidents at the buildings of the densest cells, and one far out at sea.
    const byCell = new Map<string, number>();
    for (const b of recount.buildingRows) byCell.set(b.cell, (byCell.get(b.cell) ?? 0) + 1);
    const dense = [...byCell]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([cell]) => cell);
    const at = dense.map((cell) => recount.buildingRows.find((b) => b.cell === cell)!);
    openings = [...at.map((b) => [b.lat + 0.001, b.lon] as const), [22.3, 114.6] as const].map(
      ([lat, lon], i) => ({
        incident_id: `inc-${i}`,
        id: `r-${i}`,
        ts_ms: T0,
        district: i % 2 === 0 ? '440304' : '440305',
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

  const expectRecount = (impacts: Awaited<ReturnType<typeof joinBaseImpacts>>['impacts'], at: number) => {
    let withResidents = 0;
    for (const x of openings) {
      const got = impacts.get(x.incident_id)!;
      const want = recount.impact(x.lat, x.lon, at, RADIUS_M);
      expect({ ...got, sensitive_sites: undefined, affected_buildings: undefined }, x.incident_id).toEqual({
        ...want,
        sensitive_sites: undefined,
        affected_buildings: undefined,
      });
      expect(got.affected_buildings).toHaveLength(want.buildings);
      if (want.residents.from_14_to_64 > 0) withResidents += 1;
    }
    return withResidents;
  };

  it('equals a brute-force recount of the generated libraries', async () => {
    expect(recount.personRows).toHaveLength(184_400);
    const { impacts } = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    expect(expectRecount(impacts, T0)).toBeGreaterThanOrEqual(10);
    expect(impacts.get(`inc-${openings.length - 1}`)!.buildings).toBe(0);
  });

  it('answers as the libraries stood at each incident’s time, after moves, a demolition and an opening', async () => {
    const writer = new BaseWriter(client, db);
    const change = { deleted: 0 as const, source: 'feed' as const, provenance: 'test', valid_from_ms: T1 };
    // 200 residents of the first incident's buildings move to a building far away.
    const far = recount.buildingRows.at(-1)!;
    const first = recount.impact(openings[0]!.lat, openings[0]!.lon, T0, RADIUS_M);
    expect(first.buildings).toBeGreaterThan(2);
    const near = new Set(
      (await joinBaseImpacts(client, [openings[0]!], RADIUS_M, proximity, lookup)).impacts
        .get('inc-0')!
        .affected_buildings.map(([id]) => id),
    );
    const movers = recount.personRows.filter((p) => near.has(p.building_id)).slice(0, 200);
    await writer.write(baseResidence, [
      ...movers.map((p) => ({ ...p, ...change, deleted: 1 as const })),
      ...movers.map((p) => ({ ...p, ...change, building_id: far.building_id })),
    ]);
    for (const p of movers)
      recount.changes.push({ kind: 'move', person_id: p.person_id, to_building: far.building_id, at: T1 });
    const demolished = [...near][0]!;
    const building = recount.buildingRows.find((b) => b.building_id === demolished)!;
    await writer.write(baseBuildings, [{ ...building, ...change, deleted: 1 as const }]);
    recount.changes.push({ kind: 'demolish', building_id: demolished, at: T1 });
    const plantSite = [...near][1]!;
    await writer.write(baseLegalPersons, [
      {
        building_id: plantSite,
        legal_person_id: 'L-new-plant',
        industry: 'chemical',
        employees: 1,
        ...change,
      },
    ]);
    recount.changes.push({
      kind: 'open',
      legal_person_id: 'L-new-plant',
      building_id: plantSite,
      industry: 'chemical',
      at: T1,
    });

    const before = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    expectRecount(before.impacts, T0);
    const later = openings.map((x) => ({ ...x, incident_id: `${x.incident_id}-later`, ts_ms: T2 }));
    const after = await joinBaseImpacts(client, later, RADIUS_M, proximity, lookup);
    for (const x of later) {
      const want = recount.impact(x.lat, x.lon, T2, RADIUS_M);
      const got = after.impacts.get(x.incident_id)!;
      expect(
        { b: got.buildings, d: got.dwellings, r: got.residents, l: got.by_industry },
        x.incident_id,
      ).toEqual({
        b: want.buildings,
        d: want.dwellings,
        r: want.residents,
        l: want.by_industry,
      });
    }
    const moved = after.impacts.get('inc-0-later')!;
    expect(moved.buildings).toBe(first.buildings - 1);
    expect(moved.sensitive_sites.map((s) => s.legal_person_id)).toContain('L-new-plant');
  });

  it('takes a correction of a version, written later, over the version it corrects', async () => {
    const writer = new BaseWriter(client, db);
    const correction = { source: 'grid' as const, provenance: 'test correction', valid_from_ms: T1 };
    const atT2 = async () =>
      (
        await joinBaseImpacts(client, [{ ...openings[0]!, ts_ms: T2 }], RADIUS_M, proximity, lookup)
      ).impacts.get(openings[0]!.incident_id)!;
    const before = await atT2();
    const plant = before.sensitive_sites.find((x) => x.legal_person_id === 'L-new-plant')!;
    expect(plant.industry).toBe('chemical');
    const demolished = recount.changes.find((c) => c.kind === 'demolish')!;
    const building = recount.buildingRows.find((b) => b.building_id === demolished.building_id)!;
    expect(before.affected_buildings.map(([id]) => id)).not.toContain(building.building_id);
    // written_at has seconds: the corrections are written in a later second than the versions they correct.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await writer.write(baseLegalPersons, [
      {
        building_id: plant.building_id,
        legal_person_id: 'L-new-plant',
        industry: 'school',
        employees: 1,
        deleted: 0,
        ...correction,
      },
    ]);
    await writer.write(baseBuildings, [{ ...building, deleted: 0, ...correction }]);
    const after = await atT2();
    expect(after.sensitive_sites.find((x) => x.legal_person_id === 'L-new-plant')?.industry).toBe('school');
    expect(after.by_industry.chemical ?? 0).toBe((before.by_industry.chemical ?? 0) - 1);
    expect(after.affected_buildings.map(([id]) => id)).toContain(building.building_id);
  });

  it('stores small groups as NULL outside the restricted database, and exact counts inside it', async () => {
    const joined = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    const sink = new ClickHouseSink(client);
    await sink.insertTsv(qualified(incidentBaseImpact, db), columnNames(incidentBaseImpact), [
      joined.publicTsv,
    ]);
    await sink.insertTsv(qualified(incidentBaseImpactExact, db), columnNames(incidentBaseImpactExact), [
      joined.exactTsv,
    ]);
    const bands = ['under_14', 'from_14_to_64', 'from_65'] as const;
    const read = (table: typeof incidentBaseImpact) =>
      selectRows<Record<string, string | null>>(
        client,
        `SELECT incident_id, ${bands.map((b) => `toString(residents_${b}) AS ${b}`).join(', ')} FROM ${qualified(table, db)} FINAL`,
      );
    const exact = new Map((await read(incidentBaseImpactExact)).map((r) => [r['incident_id'], r]));
    let small = 0;
    for (const row of await read(incidentBaseImpact)) {
      for (const band of bands) {
        const n = Number(exact.get(row['incident_id'])![band]);
        if (n > 0 && n < 5) small += 1;
        expect(row[band], `${row['incident_id']} ${band}`).toBe(n > 0 && n < 5 ? null : String(n));
      }
    }
    expect(small).toBeGreaterThan(0); // the sea incident has none, but some bands near the coast are small
  });

  it('sums them per district and city day in the analysts’ mart, hiding the small groups', async () => {
    const joined = await joinBaseImpacts(client, openings, RADIUS_M, proximity, lookup);
    await new ClickHouseSink(client).insertTsv(
      qualified(incidentBaseImpact, db),
      columnNames(incidentBaseImpact),
      [joined.publicTsv],
    );
    for (const query of martStatements(db)) await client.command({ query });
    const want = new Map<string, Record<string, number>>();
    for (const x of openings) {
      const impact = joined.impacts.get(x.incident_id)!;
      const row = want.get(x.district) ?? {};
      const add = (key: string, n: number) => {
        row[key] = (row[key] ?? 0) + n;
      };
      add('incidents', 1);
      add('buildings', impact.buildings);
      add('dwellings', impact.dwellings);
      for (const band of AGE_BANDS) {
        const n = impact.residents[band];
        add(`residents_${band}`, suppressSmall(n) ?? 0);
        add(`residents_${band}_hidden`, suppressSmall(n) === null ? 1 : 0);
      }
      add('legal_persons', impact.legal_persons);
      for (const i of INDUSTRIES) add(`legal_persons_${i}`, impact.by_industry[i] ?? 0);
      want.set(x.district, row);
    }
    const mart = await selectRows<Record<string, string>>(
      client,
      `SELECT * FROM ${db.city}.district_base_impact_day ORDER BY district`,
    );
    expect(mart.map((r) => [r['district'], r['day']])).toEqual([
      ['440304', '2026-06-01'],
      ['440305', '2026-06-01'],
    ]);
    for (const { district, day: _, ...sums } of mart)
      expect(Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Number(v)])), district).toEqual(
        want.get(district!),
      );
    const hidden = mart.reduce(
      (n, r) => n + AGE_BANDS.reduce((m, b) => m + Number(r[`residents_${b}_hidden`]), 0),
      0,
    );
    expect(hidden).toBeGreaterThan(0);
    const { catalogue } = await loadCatalogue();
    const columns = await selectRows<{ name: string }>(
      client,
      `SELECT name FROM system.columns WHERE database = '${db.city}' AND table = 'district_base_impact_day'`,
    );
    expect(
      catalogue.resources.find((r) => r.id === 'marts.district_base_impact_day')?.items.map((i) => i.id),
    ).toEqual(columns.map((c) => c.name));
  });

  it('keeps names, ID numbers and phones in the restricted database only', async () => {
    const people = recount.personRows.filter((_, i) => i % 4999 === 0);
    const canaries = people.flatMap((p) => [p.name, p.id_number, p.phone]);
    const found = async (database: string) => {
      const columns = await selectRows<{ table: string; name: string }>(
        client,
        `SELECT table, name FROM system.columns WHERE database = '${database}' AND type = 'String'`,
      );
      const tables = new Map<string, string[]>();
      for (const c of columns) tables.set(c.table, [...(tables.get(c.table) ?? []), c.name]);
      let hits = 0;
      for (const [table, names] of tables) {
        const [row] = await selectRows<{ n: string }>(
          client,
          `SELECT toString(count()) AS n FROM ${database}.${table}
            ARRAY JOIN [${canaries.map((c) => `'${c}'`).join(', ')}] AS canary
            WHERE position(concat(${[...names, "''"].join(", '|', ")}), canary) > 0`,
        );
        hits += Number(row!.n);
      }
      return hits;
    };
    expect(canaries.length).toBeGreaterThan(100);
    expect(await found(db.city)).toBe(0);
    const [kept] = await selectRows<{ n: string }>(
      client,
      `SELECT toString(count()) AS n FROM ${db.restricted}.base_people
        WHERE id_number IN (${people.map((p) => `'${p.id_number}'`).join(', ')})`,
    );
    expect(Number(kept!.n)).toBe(people.length);
  });
});
