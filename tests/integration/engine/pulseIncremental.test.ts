import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pulseStatements, snapshotQuery } from '../../../engine/pipeline/pulseInsert.ts';
import { cleanupRun, type EngineRun, prepareRun, query } from '../../helpers/engineHarness.ts';

/**
 * district_pulse's incident figures, range after range from the snapshot of open incidents, equal the same
 * definition computed over every incident at once. The incidents include the awkward ones: opened long
 * before the first range, never closed, closed without an open report, closed twice across ranges, closed
 * before being opened, and opened and closed in one minute.
 */
describe('district_pulse: incident counts carried by the open-incident snapshot', () => {
  let run: EngineRun;
  const minute = 60_000;
  const T0 = Date.UTC(2026, 10, 26, 2, 0, 0);
  const at = (m: number, s = 0) => T0 + m * minute + s * 1000;
  const cuts = [0, 7, 20, 21, 38, 60].map((m) => at(m));
  let id = 0;

  function report(incident: string, district: string, ts: number, status: 'open' | 'closed') {
    id += 1;
    return {
      id: `r-${id}`,
      incident_id: incident,
      ts: Math.floor(ts / 1000),
      ts_ms: ts,
      category: 'fire',
      severity: 3,
      status,
      source: 'grid_staff',
      lat: 22.54,
      lon: 114.05,
      district,
      cell: '',
      source_partition: 0,
      source_offset: id,
      ingested_at: Math.floor(Date.now() / 1000),
    };
  }

  async function pulse(): Promise<Record<string, number[]>> {
    const rows = await query<Record<string, string>>(
      run.clickhouse,
      `SELECT district, toUInt64(window_start) * 1000 AS ws, incidents_opened, incidents_closed, incidents_open
       FROM ${run.db}.district_pulse FINAL ORDER BY district, ws`,
    );
    return Object.fromEntries(
      rows.map((r) => [
        `${r['district']} +${(Number(r['ws']) - T0) / minute}`,
        [Number(r['incidents_opened']), Number(r['incidents_closed']), Number(r['incidents_open'])],
      ]),
    );
  }

  async function finalize(from: number, to: number): Promise<boolean> {
    const [row] = await query<{ n: string }>(run.clickhouse, snapshotQuery(run.db, from));
    const snapshot = Number(row?.n ?? 0) > 0;
    for (const statement of pulseStatements(run.db, from, to, snapshot)) {
      await run.clickhouse.command({ query: statement });
    }
    return snapshot;
  }

  beforeAll(async () => {
    run = await prepareRun('pulse_incremental', { partitions: 1 });
    await run.clickhouse.insert({
      table: `${run.db}.events_atomic`,
      format: 'JSONEachRow',
      values: [
        report('old-open', '440303', at(-180), 'open'),
        report('old-closed-in-range', '440303', at(-120), 'open'),
        report('old-closed-in-range', '440303', at(35, 10), 'closed'),
        report('old-closed-before', '440303', at(-90), 'open'),
        report('old-closed-before', '440303', at(-30), 'closed'),
        report('spans', '440304', at(1, 20), 'open'),
        report('spans', '440304', at(25), 'closed'),
        report('never-closed', '440304', at(2), 'open'),
        report('close-only', '440304', at(5), 'closed'),
        report('same-minute', '440304', at(10, 5), 'open'),
        report('same-minute', '440304', at(10, 40), 'closed'),
        report('closed-twice', '440305', at(12), 'open'),
        report('closed-twice', '440305', at(15), 'closed'),
        report('closed-twice', '440305', at(40), 'closed'),
        report('opened-twice', '440305', at(50), 'open'),
        report('opened-twice', '440305', at(55), 'open'),
        report('closed-first', '440305', at(20, 30), 'closed'),
        report('closed-first', '440305', at(30), 'open'),
      ],
    });
  });

  afterAll(async () => {
    if (run) await cleanupRun(run);
  });

  it('range after range equals one pass over every incident', async () => {
    const seeded: boolean[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) seeded.push(await finalize(cuts[i]!, cuts[i + 1]!));
    expect(seeded).toEqual([false, true, true, true, true]);
    const incremental = await pulse();

    await run.clickhouse.command({ query: `TRUNCATE TABLE ${run.db}.district_pulse` });
    for (const statement of pulseStatements(run.db, cuts[0]!, cuts.at(-1)!, false)) {
      await run.clickhouse.command({ query: statement });
    }
    const whole = await pulse();
    expect(incremental).toEqual(whole);

    // The definition itself, minute by minute: [opened, closed, open at the minute's end].
    const open = (district: string, m: number) => whole[`${district} +${m}`]?.[2] ?? 0;
    expect([0, 59].map((m) => open('440303', m))).toEqual([2, 1]); // old-open all along
    expect([35, 36].map((m) => open('440303', m))).toEqual([1, 1]); // old-closed-in-range closes at 35
    expect(whole['440303 +35']).toEqual([0, 1, 1]);
    expect([1, 2, 24, 25, 59].map((m) => open('440304', m))).toEqual([1, 2, 2, 1, 1]);
    expect(whole['440304 +10']).toEqual([1, 1, 2]); // same-minute: opened and closed, not open
    expect(whole['440304 +5']).toEqual([0, 1, 2]); // close-only counts as closed, never open
    // closed-twice: open until its last closed report (40); closed-first: opened at 30, closed before.
    expect([11, 12, 15, 29, 30, 39, 40, 49, 50, 59].map((m) => open('440305', m))).toEqual([
      0, 1, 1, 1, 1, 1, 0, 0, 1, 1,
    ]);
  });

  it('the snapshot holds the incidents open and never closed at each cut', async () => {
    const rows = await query<{ incident_id: string }>(
      run.clickhouse,
      `SELECT incident_id FROM ${run.db}.open_incidents FINAL
       WHERE through = toDateTime(${Math.floor(at(20) / 1000)}) ORDER BY incident_id`,
    );
    // Only incidents with no closed report at all: those closed later are read again through their
    // later reports. Opened-twice (opened at 50) is kept already, which is harmless.
    expect(rows.map((r) => r.incident_id)).toEqual(['', 'never-closed', 'old-open', 'opened-twice']);
  });
});
