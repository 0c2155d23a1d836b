import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import type { Grant } from '../../../engine/catalogue/projection.ts';
import { createClickHouse } from '../../../engine/connectors/clickhouse/client.ts';
import { type History, type HistoryTables, queryHistory } from '../../../engine/server/historyQuery.ts';
import { startMapServer } from '../../../engine/server/mapServer.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('history for the time-window selector (ClickHouse, read as the analyst)', () => {
  const engine = createClickHouse(testEnv, 'engine');
  const analyst = createClickHouse(testEnv, 'analyst');
  const name = `test_history_${uniqueSuffix()}`;
  const tables: HistoryTables = {
    database: testEnv.CLICKHOUSE_DATABASE,
    districtMinute: `${name}_district_minute`,
    districtPulse: `${name}_district_pulse`,
    incidentImpact: `${name}_incident_impact`,
  };
  const db = tables.database;
  const now = Date.now();
  const minute = (ago: number) => Math.floor(now / 60_000) * 60 - ago * 60; // epoch seconds

  beforeAll(async () => {
    // On a fresh stack nothing may have migrated yet: the analysts' database (the only one the
    // analyst user may read) is created here as `city-ops migrate` would create it.
    await engine.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    // The same columns as the engine's tables (issue 4), in tables of this test's own.
    await engine.command({
      query: `CREATE TABLE ${db}.${tables.districtMinute} (stream String, district String, window_start DateTime, events UInt64)
              ENGINE = MergeTree ORDER BY (district, window_start)`,
    });
    await engine.command({
      query: `CREATE TABLE ${db}.${tables.districtPulse} (district String, window_start DateTime, vehicles_seen UInt64,
              mean_speed_kmh Nullable(Float64), incidents_opened UInt64, incidents_open UInt64, people_present UInt64,
              net_inflow Int64) ENGINE = MergeTree ORDER BY (district, window_start)`,
    });
    await engine.command({
      query: `CREATE TABLE ${db}.${tables.incidentImpact} (incident_id String, ts DateTime, district String, category String,
              severity UInt8, lat Float64, lon Float64, radius_m Float64, vehicles UInt64, people_present UInt64,
              nearest_vehicles String) ENGINE = MergeTree ORDER BY (district, ts)`,
    });
    await engine.insert({
      table: `${db}.${tables.districtMinute}`,
      format: 'JSONEachRow',
      values: [
        { stream: 'transport', district: '440304', window_start: minute(3), events: 120 },
        { stream: 'events', district: '440304', window_start: minute(3), events: 4 },
        { stream: 'transport', district: '440305', window_start: minute(2), events: 80 },
        { stream: 'transport', district: '440304', window_start: minute(30), events: 999 }, // outside 15 min
      ],
    });
    await engine.insert({
      table: `${db}.${tables.districtPulse}`,
      format: 'JSONEachRow',
      values: [
        {
          district: '440304',
          window_start: minute(3),
          vehicles_seen: 50,
          mean_speed_kmh: 22.5,
          incidents_opened: 1,
          incidents_open: 2,
          people_present: 7000,
          net_inflow: -30,
        },
        {
          district: '440304',
          window_start: minute(2),
          vehicles_seen: 40,
          mean_speed_kmh: null,
          incidents_opened: 0,
          incidents_open: 2,
          people_present: 6900,
          net_inflow: 10,
        },
      ],
    });
    await engine.insert({
      table: `${db}.${tables.incidentImpact}`,
      format: 'JSONEachRow',
      values: [
        {
          incident_id: 'I-1',
          ts: minute(1),
          district: '440304',
          category: 'fire',
          severity: 4,
          lat: 22.54,
          lon: 114.05,
          radius_m: 500,
          vehicles: 3,
          people_present: 120,
          nearest_vehicles: JSON.stringify([{ vehicle: 'V1', mode: 'bus', distance_m: 20 }]),
        },
      ],
    });
  });

  afterAll(async () => {
    for (const table of [tables.districtMinute, tables.districtPulse, tables.incidentImpact])
      await engine.command({ query: `DROP TABLE IF EXISTS ${db}.${table}` });
    await engine.close();
    await analyst.close();
  });

  it('returns the chosen window per stream, district and minute', async () => {
    const history = await queryHistory(analyst, tables, { minutes: 15 }, now);
    expect(Object.values(history.sources).every((s) => s.available)).toBe(true);
    expect(history.districtMinute).toEqual([
      { stream: 'events', district: '440304', t: minute(3) * 1000, events: 4 },
      { stream: 'transport', district: '440304', t: minute(3) * 1000, events: 120 },
      { stream: 'transport', district: '440305', t: minute(2) * 1000, events: 80 },
    ]);
    expect(history.districtPulse).toHaveLength(2);
    expect(history.districtPulse[1]).toMatchObject({
      people_present: 6900,
      mean_speed_kmh: null,
      net_inflow: 10,
    });
    expect(history.incidentImpact[0]).toMatchObject({
      incident_id: 'I-1',
      vehicles: 3,
      nearest_vehicles: [{ vehicle: 'V1', mode: 'bus', distance_m: 20 }],
    });
  });

  it('filters by district and refuses values that are not a district code', async () => {
    const history = await queryHistory(analyst, tables, { minutes: 5, district: '440305' }, now);
    expect(history.districtMinute.map((r) => r.district)).toEqual(['440305']);
    await expect(
      queryHistory(analyst, tables, { minutes: 5, district: "x' OR 1=1 --" }, now),
    ).rejects.toThrow(/district code/);
    await expect(queryHistory(analyst, tables, { minutes: 7 }, now)).rejects.toThrow(
      /minutes must be one of/,
    );
  });

  it('gives an empty history with a note while the tables do not exist', async () => {
    const missing = { ...tables, districtMinute: `${name}_nope`, districtPulse: `${name}_nope2` };
    const history = await queryHistory(analyst, missing, { minutes: 60 }, now);
    expect(history.districtMinute).toEqual([]);
    expect(history.sources.district_minute).toMatchObject({ available: false });
    expect(history.sources.district_minute.note).toMatch(/does not exist yet/);
    expect(history.sources.incident_impact.available).toBe(true);
  });

  it('is served at /api/history with the token', async () => {
    const server = await startMapServer({
      env: testEnv,
      token: 'history-token-16ch',
      port: 0,
      kafka: false,
      history: { tables },
    });
    try {
      expect((await fetch(`${server.url}/api/history?minutes=15`)).status).toBe(401);
      const response = await fetch(`${server.url}/api/history?minutes=15`, {
        headers: { Authorization: 'Bearer history-token-16ch' },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { districtMinute: unknown[] };
      expect(body.districtMinute).toHaveLength(3);
      expect((await fetch(`${server.url}/api/history?minutes=3&token=history-token-16ch`)).status).toBe(400);
    } finally {
      await server.close();
    }
  });

  it('withholds from a department the tables it has no grant of, and opens them under one', async () => {
    const { catalogue } = await loadCatalogue();
    const grants: Grant[] = [];
    const server = await startMapServer({
      env: testEnv,
      token: 'history-token-16ch',
      port: 0,
      kafka: false,
      history: { tables },
      access: {
        tokens: () => [
          {
            department: 'emergency',
            sha256: sha256('emergency-token-16'),
            issued_at: '2026-01-01T00:00:00Z',
          },
        ],
        policy: { catalogue, grants: () => grants },
      },
    });
    const ask = async (token: string) =>
      (await (
        await fetch(`${server.url}/api/history?minutes=15`, { headers: { Authorization: `Bearer ${token}` } })
      ).json()) as History;
    try {
      const operator = await ask('history-token-16ch');
      expect(operator.incidentImpact).toHaveLength(1);
      const before = await ask('emergency-token-16');
      expect(before.districtMinute).toEqual(operator.districtMinute);
      expect(before.incidentImpact).toEqual([]);
      expect(before.sources.incident_impact).toEqual({
        available: false,
        note: 'not granted: joined.incident_impact: no live grant',
      });
      const grant = {
        id: 'g-impact',
        department: 'emergency',
        resource: 'joined.incident_impact',
        items: ['incident_id', 'district'],
        purpose: 'dispatch',
        approved_by: 'operations-centre',
        valid_from: new Date(now - 60_000).toISOString(),
        valid_until: new Date(now + 3_600_000).toISOString(),
      };
      grants.push(grant);
      expect((await ask('emergency-token-16')).sources.incident_impact.note).toMatch(
        /joined\.incident_impact: the grant does not name report_id, ts/,
      );
      grants[0] = { ...grant, items: ['*'] };
      expect((await ask('emergency-token-16')).incidentImpact).toEqual(operator.incidentImpact);
    } finally {
      await server.close();
    }
  });
});
