import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowBinaryWriter } from '../../../engine/connectors/clickhouse/rowBinary.ts';
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
 * (RowBinary for the atomic layer, TabSeparated for the rest) into the table the migrations created, read
 * back by column name. Text fields carry tabs, newlines, backslashes and Chinese, which TabSeparated must
 * escape and RowBinary must count in bytes.
 */
describe('table definitions: each encoder fills its own columns', () => {
  let run: EngineRun;
  let sink: ClickHouseSink;
  const ts = Date.UTC(2026, 10, 26, 2, 0, 0, 250);
  const awkward = 'a\tb\nc\\d';

  beforeAll(async () => {
    run = await prepareRun('table_definitions', { partitions: 1 });
    sink = new ClickHouseSink(run.clickhouse);
  });

  afterAll(async () => {
    if (run) await cleanupRun(run);
  });

  async function readBack(table: TableDefinition): Promise<Record<string, unknown>> {
    const rows = await query<Record<string, unknown>>(
      run.clickhouse,
      `SELECT * FROM ${qualified(table, db())}`,
    );
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!)).toEqual(columnNames(table));
    return rows[0]!;
  }

  const db = () => ({ city: run.db, restricted: run.restricted });

  /** One TabSeparated row, inserted and read back. */
  async function roundTrip(table: TableDefinition, row: string): Promise<Record<string, unknown>> {
    expect(row.split('\t').length, `${table.name}: fields of the row`).toBe(table.columns.length);
    expect(await sink.insertTsv(qualified(table, db()), columnNames(table), [row])).toBe(1);
    return readBack(table);
  }

  /** One RowBinary row, written by `encode`, inserted and read back. */
  async function binaryRoundTrip(
    table: TableDefinition,
    encode: (w: RowBinaryWriter) => void,
  ): Promise<Record<string, unknown>> {
    const writer = new RowBinaryWriter(16); // grows as it goes
    encode(writer);
    const chunk = writer.take();
    expect(chunk.rows).toBe(1);
    expect(await sink.insertRowBinary(qualified(table, db()), columnNames(table), [chunk])).toBe(1);
    return readBack(table);
  }

  it('the atomic tables and the raw events (RowBinary)', async () => {
    const from = { partition: 3, offset: 42, ingestedAt: 1_800_000_000_500 };
    const transport = await binaryRoundTrip(transportAtomic, (w) =>
      transportRow(
        w,
        { id: awkward, ts, vehicle: 'bus-1', mode: 'bus', lat: 22.5, lon: 114.1, occupancy: 31 },
        ts,
        22.5,
        114.1,
        '440304',
        '88411c8c1bfffff',
        from,
      ),
    );
    expect(transport).toMatchObject({
      id: awkward,
      ts: '2026-11-26 02:00:00',
      ts_ms: String(ts),
      route: '',
      lat: 22.5,
      speed_kmh: null,
      occupancy: 31,
      source_partition: 3,
      source_offset: '42',
      ingested_at: '2027-01-15 08:00:00',
    });
    const report = {
      id: 'e-1',
      ts,
      category: 'fire' as const,
      severity: 4,
      lat: 22.5,
      lon: 114.1,
      status: 'open' as const,
      description: '张三 说',
      reporter: { name: '张三', phone: '13812345678', id_number: '440304199001011234' },
    };
    const masked = { name: '张*', phone: '138******78', id_number: null };
    const description = '某'.repeat(200); // non-ASCII, and longer than a one-byte length
    const event = await binaryRoundTrip(eventsAtomic, (w) =>
      eventRow(w, report, ts, 22.5, 114.1, '440304', 'cell', description, masked, from),
    );
    expect(event).toMatchObject({
      incident_id: 'e-1',
      severity: 4,
      description,
      reporter_name: '张*',
      reporter_id_number: '',
      has_reporter: 1,
    });
    const raw = await binaryRoundTrip(eventsRaw, (w) => eventRawRow(w, report, ts, awkward, from));
    expect(raw).toMatchObject({ reporter_phone: '13812345678', payload: awkward });
    const population = await binaryRoundTrip(populationAtomic, (w) =>
      populationRow(
        w,
        { id: 'p-1', ts, present: 7, inflow: 2, outflow: 1 },
        ts,
        22.5,
        114.1,
        '440304',
        'cell',
        from,
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
  it('RowBinary strings of any length and script read back as written', async () => {
    const table = `${run.db}.rowbinary_strings`;
    await run.clickhouse.command({ query: `CREATE TABLE ${table} (i UInt32, s String) ENGINE = Memory` });
    const strings = fc.sample(fc.string({ unit: 'binary', maxLength: 300 }), { numRuns: 300, seed: 7 });
    // Lengths at the varint's edges (127/128 and 16383/16384 bytes), and a lone surrogate, which UTF-8
    // cannot carry (written as U+FFFD, as TextEncoder does).
    strings.push('a'.repeat(127), 'a'.repeat(128), 'é'.repeat(8_192), 'x'.repeat(16_384), '\ud800', '');
    const writer = new RowBinaryWriter(16);
    strings.forEach((value, i) => {
      writer.uint32(i);
      writer.string(value);
      writer.endRow();
    });
    const chunk = writer.take();
    expect(await sink.insertRowBinary(table, ['i', 's'], [chunk])).toBe(strings.length);
    const rows = await query<{ i: number; s: string }>(
      run.clickhouse,
      `SELECT i, s FROM ${table} ORDER BY i`,
    );
    const utf8 = new TextEncoder();
    const decoder = new TextDecoder();
    expect(rows.map((r) => r.s)).toEqual(strings.map((value) => decoder.decode(utf8.encode(value))));
  });
});
