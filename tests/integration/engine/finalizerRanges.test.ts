import { latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { KafkaSink } from '../../../engine/connectors/kafka/sink.ts';
import { streamTopic } from '../../../engine/contract/topics.ts';
import { createLogger } from '../../../engine/observability/logger.ts';
import { resolveEngineOptions } from '../../../engine/pipeline/engineOptions.ts';
import { Finalizer } from '../../../engine/pipeline/finalizer.ts';
import { cleanupRun, type EngineRun, prepareRun } from '../../helpers/engineHarness.ts';

/**
 * The finalizer joins each incident once, at its first open report, even when later open reports of the same
 * incident fall into a later range (it reads only the range's days to find candidates, then all their
 * reports by incident_id).
 */
describe('finalizer: incidents by their first open report, range after range', () => {
  let run: EngineRun;
  let sink: KafkaSink;
  let finalizer: Finalizer;
  const T0 = Date.UTC(2026, 10, 26, 2, 0, 0); // 10:00 in Shenzhen
  const minute = 60_000;
  const grace = 5_000;
  const band = 120_000;
  const lat = 22.543;
  const lon = 114.057;
  const cell = latLngToCell(lat, lon, 8);

  async function setWatermark(watermark: number): Promise<void> {
    const topic = streamTopic('events', run.env.CITY_OPS_TOPIC_PREFIX);
    await run.clickhouse.insert({
      table: `${run.db}.engine_progress`,
      format: 'JSONEachRow',
      values: [
        {
          topic,
          stream: 'events',
          source_partition: 0,
          committed_offset: 1,
          watermark_ms: watermark,
          instance: 'test',
          updated_at: Math.floor(Date.now() / 1000),
        },
      ],
    });
  }

  function report(id: string, incident: string, ts: number, status: 'open' | 'closed') {
    return {
      id,
      incident_id: incident,
      ts: Math.floor(ts / 1000),
      ts_ms: ts,
      category: 'fire',
      severity: 4,
      status,
      source: 'grid_staff',
      lat,
      lon,
      district: '440304',
      cell,
      source_partition: 0,
      source_offset: 0,
      ingested_at: Math.floor(Date.now() / 1000),
    };
  }

  beforeAll(async () => {
    run = await prepareRun('finalizer_ranges', { partitions: 1 });
    // The finalizer looks at the partitions that hold data: one record in the events topic.
    const producer = createKafka(run.env, 'finalizer-ranges').producer();
    await producer.connect();
    await producer.send({
      topic: streamTopic('events', run.env.CITY_OPS_TOPIC_PREFIX),
      messages: [{ key: 'x', value: '{}' }],
    });
    await producer.disconnect();
    await run.clickhouse.insert({
      table: `${run.db}.events_atomic`,
      format: 'JSONEachRow',
      values: [
        report('A-1', 'A', T0, 'open'),
        report('B-1', 'B', T0 + 2 * minute, 'open'),
        report('A-2', 'A', T0 + 30 * minute, 'open'), // A reported open again, in the second range
        report('C-1', 'C', T0 + 31 * minute, 'open'),
        report('A-3', 'A', T0 + 40 * minute, 'closed'),
      ],
    });
    sink = new KafkaSink(run.env, 'finalizer-ranges-sink');
    await sink.connect();
    finalizer = new Finalizer(
      run.env,
      run.clickhouse,
      sink,
      resolveEngineOptions({ graceMs: grace, impactBandMs: band, instanceId: 'finalizer-ranges' }),
      createLogger('finalizer-ranges', 'warn'),
    );
  });

  afterAll(async () => {
    await finalizer?.close();
    await sink?.close();
    if (run) await cleanupRun(run);
  });

  it('joins A once, at A-1, although A-2 lies in the second range; B and C in their ranges', async () => {
    await setWatermark(T0 + 10 * minute + band + grace);
    const first = await finalizer.tick();
    expect(first?.impactThrough).toBe(T0 + 10 * minute);
    await setWatermark(T0 + 60 * minute + band + grace);
    const second = await finalizer.tick();
    expect(second?.impactThrough).toBe(T0 + 60 * minute);

    const rows = await (
      await run.clickhouse.query({
        query: `SELECT incident_id, report_id, ts_ms FROM ${run.db}.incident_impact FINAL ORDER BY incident_id`,
        format: 'JSONEachRow',
      })
    ).json<{ incident_id: string; report_id: string; ts_ms: string }>();
    expect(rows.map((r) => [r.incident_id, r.report_id, Number(r.ts_ms)])).toEqual([
      ['A', 'A-1', T0],
      ['B', 'B-1', T0 + 2 * minute],
      ['C', 'C-1', T0 + 31 * minute],
    ]);
    // Written once each: no second row for A from the second range (before any merge).
    const raw = await (
      await run.clickhouse.query({
        query: `SELECT incident_id, count() AS n FROM ${run.db}.incident_impact GROUP BY incident_id ORDER BY incident_id`,
        format: 'JSONEachRow',
      })
    ).json<{ incident_id: string; n: string }>();
    expect(raw.map((r) => [r.incident_id, Number(r.n)])).toEqual([
      ['A', 1],
      ['B', 1],
      ['C', 1],
    ]);
  });

  it('crosses days without incidents in a few reads, and resumes where a tick ran out of chunks', async () => {
    // 1,100 incidents three days later, 100 ms apart: more than one tick joins (1,000 a tick).
    const later = T0 + 3 * 86_400_000;
    await run.clickhouse.insert({
      table: `${run.db}.events_atomic`,
      format: 'JSONEachRow',
      values: Array.from({ length: 1_100 }, (_, i) => report(`F-${i}`, `F${i}`, later + i * 100, 'open')),
    });
    await setWatermark(later + 60 * minute + band + grace);
    const third = await finalizer.tick();
    expect(third?.impactThrough).toBe(later + 1_000 * 100);
    expect(third?.behindMs?.incident_impact).toBe(60 * minute - 1_000 * 100);
    const fourth = await finalizer.tick();
    expect(fourth?.impactThrough).toBe(later + 60 * minute);
    expect(fourth?.behindMs?.incident_impact).toBe(0);

    const joined = await (
      await run.clickhouse.query({
        query: `SELECT count() AS n, uniqExact(incident_id) AS incidents FROM ${run.db}.incident_impact FINAL`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string; incidents: string }>();
    expect(joined.map((r) => [Number(r.n), Number(r.incidents)])).toEqual([[1_103, 1_103]]);
  });

  it('joins every incident of one instant in one chunk, even past the budget, and moves on', async () => {
    // 1,200 incidents first reported at the same millisecond, a week later: more than a tick's 1,000.
    const instant = T0 + 7 * 86_400_000;
    await run.clickhouse.insert({
      table: `${run.db}.events_atomic`,
      format: 'JSONEachRow',
      values: Array.from({ length: 1_200 }, (_, i) => report(`S-${i}`, `S${i}`, instant, 'open')),
    });
    await setWatermark(instant + 10 * minute + band + grace);
    const fifth = await finalizer.tick();
    expect(fifth?.impactThrough).toBe(instant + 10 * minute);
    const written = await (
      await run.clickhouse.query({
        query: `SELECT count() AS n FROM ${run.db}.incident_impact WHERE ts_ms = ${instant}`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    // Each written once: the instant is not joined again by a later tick.
    expect(Number(written[0]?.n)).toBe(1_200);
  });
});
