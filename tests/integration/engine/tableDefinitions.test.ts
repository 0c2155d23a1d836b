import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseSink } from '../../../engine/connectors/clickhouse/sink.ts';
import {
  eventRawRow,
  eventRow,
  eventsAtomic,
  eventsRaw,
  populationAtomic,
  populationRow,
  transportAtomic,
  transportRow,
} from '../../../engine/connectors/clickhouse/tables/atomic.ts';
import { incidentImpact, incidentImpactRow } from '../../../engine/connectors/clickhouse/tables/joined.ts';
import {
  deadLetterRawRow,
  deadLetterRow,
  deadLetters,
  deadLettersRaw,
  engineProgress,
  engineProgressRow,
  lateEventRow,
  lateEvents,
  windowPartialRow,
  windowPartials,
} from '../../../engine/connectors/clickhouse/tables/layers.ts';
import {
  columnNames,
  qualified,
  type TableDefinition,
} from '../../../engine/connectors/clickhouse/tables/table.ts';
import { cleanupRun, type EngineRun, prepareRun, query } from '../../helpers/engineHarness.ts';

/**
 * Each table's row encoder writes what its definition declares: one row through the real insert path
 * into the table the migrations created, read back by column name. Text fields carry tabs, newlines and
 * backslashes, which TabSeparated must escape.
 */
describe('table definitions: each encoder fills its own columns', () => {
  let run: EngineRun;
  let sink: ClickHouseSink;
  const ts = Date.UTC(2026, 10, 26, 2, 0, 0, 250);
  const tail = '\t3\t42\t1800000000\n';
  const awkward = 'a\tb\nc\\d';

  beforeAll(async () => {
    run = await prepareRun('table_definitions', { partitions: 1 });
    sink = new ClickHouseSink(run.clickhouse);
  });

  afterAll(async () => {
    if (run) await cleanupRun(run);
  });

  async function roundTrip(table: TableDefinition, row: string): Promise<Record<string, unknown>> {
    const db = { city: run.db, restricted: run.restricted };
    expect(row.split('\t').length, `${table.name}: fields of the row`).toBe(table.columns.length);
    expect(await sink.insertTsv(qualified(table, db), columnNames(table), [row])).toBe(1);
    const rows = await query<Record<string, unknown>>(
      run.clickhouse,
      `SELECT * FROM ${qualified(table, db)}`,
    );
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!)).toEqual(columnNames(table));
    return rows[0]!;
  }

  it('the atomic tables and the raw events', async () => {
    const transport = await roundTrip(
      transportAtomic,
      transportRow(
        { id: awkward, ts, vehicle: 'bus-1', mode: 'bus', lat: 22.5, lon: 114.1 },
        ts,
        22.5,
        114.1,
        '440304',
        '88411c8c1bfffff',
        tail,
      ),
    );
    expect(transport).toMatchObject({
      id: awkward,
      ts_ms: String(ts),
      route: '',
      speed_kmh: null,
      source_offset: '42',
    });
    const report = {
      id: 'e-1',
      ts,
      category: 'fire' as const,
      severity: 4,
      lat: 22.5,
      lon: 114.1,
      status: 'open' as const,
      reporter: { name: '张三', phone: '13812345678', id_number: '440304199001011234' },
    };
    const masked = { name: '张*', phone: '138******78', id_number: null };
    const event = await roundTrip(
      eventsAtomic,
      eventRow(report, ts, 22.5, 114.1, '440304', 'cell', awkward, masked, tail),
    );
    expect(event).toMatchObject({
      incident_id: 'e-1',
      description: awkward,
      reporter_name: '张*',
      has_reporter: 1,
    });
    const raw = await roundTrip(eventsRaw, eventRawRow(report, ts, awkward, tail));
    expect(raw).toMatchObject({ reporter_phone: '13812345678', payload: awkward });
    const population = await roundTrip(
      populationAtomic,
      populationRow(
        { id: 'p-1', ts, present: 7, inflow: 2, outflow: 1 },
        ts,
        22.5,
        114.1,
        '440304',
        'cell',
        tail,
      ),
    );
    expect(population).toMatchObject({ present: 7, inflow: 2, outflow: 1, district: '440304' });
  });

  it('dead letters, window partials, late events, progress and incident impact', async () => {
    const letter = {
      offset: 9,
      reason: 'invalid_json',
      detail: awkward,
      key: 'k',
      messageTs: ts,
      bytes: 5,
      payload: '{"x":',
      rawPayload: awkward,
    };
    expect(await roundTrip(deadLetters, deadLetterRow('t', 0, letter, 1_800_000_000))).toMatchObject({
      detail: awkward,
      payload_bytes: 5,
    });
    expect(await roundTrip(deadLettersRaw, deadLetterRawRow('t', 0, letter, 1_800_000_000))).toMatchObject({
      payload: awkward,
    });
    const measures = { events: 1, distinct_keys: 2, speed_sum: 3.5, speed_count: 4, opened: 5 };
    const window = await roundTrip(
      windowPartials,
      windowPartialRow(
        {
          stream: 'transport',
          district: '440304',
          window_start: ts - 250,
          window_end: ts + 59_750,
          source_partition: 1,
          revision: 2,
          ...{ closed: 6, severe: 7, present: 8, inflow: 9, outflow: 10 },
          ...measures,
        },
        1_800_000_000,
      ),
    );
    expect(window).toMatchObject({
      events: '1',
      distinct_keys: '2',
      speed_sum: 3.5,
      speed_count: '4',
      opened: '5',
      outflow: '10',
      window_start: '2026-11-26 02:00:00',
    });
    expect(
      await roundTrip(
        lateEvents,
        lateEventRow('events', awkward, ts, '440304', ts - 250, -5, 0, 11, 1_800_000_000),
      ),
    ).toMatchObject({ id: awkward, watermark_ms: '0', source_offset: '11' });
    expect(
      await roundTrip(engineProgress, engineProgressRow('t', 'events', 2, 12, ts, 'me', 1_800_000_000)),
    ).toMatchObject({ committed_offset: '12', watermark_ms: String(ts), instance: 'me' });
    const impact = await roundTrip(
      incidentImpact,
      incidentImpactRow({
        incident_id: 'i',
        report_id: 'r',
        ts_ms: ts,
        district: '440304',
        category: 'fire',
        severity: 4,
        lat: 22.5,
        lon: 114.1,
        cell: 'cell',
        radius_m: 500,
        band_ms: 120_000,
        vehicles: 3,
        vehicle_observations: 9,
        nearest_vehicles: JSON.stringify([{ vehicle: awkward }]),
        people_present: 40,
        population_cells: 7,
        computed_at: 1_800_000_000,
      }),
    );
    expect(JSON.parse(String(impact['nearest_vehicles']))).toEqual([{ vehicle: awkward }]);
  });
});
