import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicResidents } from '../../../engine/base/baseImpact.ts';
import { joinBaseImpacts } from '../../../engine/base/baseImpactJoin.ts';
import { BaseLookup } from '../../../engine/base/baseLookup.ts';
import { loadBase } from '../../../engine/base/loadBase.ts';
import { ClickHouseSink } from '../../../engine/connectors/clickhouse/sink.ts';
import {
  incidentBaseImpact,
  incidentBaseImpactExact,
} from '../../../engine/connectors/clickhouse/tables/base.ts';
import { columnNames, qualified } from '../../../engine/connectors/clickhouse/tables/table.ts';
import { createKafka } from '../../../engine/connectors/kafka/client.ts';
import { IncidentImpactMessage } from '../../../engine/contract/aggregates.ts';
import { BASE_TOPICS, internalTopic } from '../../../engine/contract/topics.ts';
import { type IncidentOpening, impactProximity } from '../../../engine/pipeline/incidentImpact.ts';
import { SeededRandom } from '../../../engine/simulator/SeededRandom.ts';
import { BaseRecount, incidentsAt } from '../../helpers/baseRecount.ts';
import {
  BIN,
  cleanupRun,
  type EngineProcess,
  type EngineRun,
  prepareRun,
  query,
  startCityOps,
  stopEngine,
  waitUntil,
} from '../../helpers/engineHarness.ts';

const RADIUS_M = 500;

/** The last `incident_impact` message per incident on the run's aggregates topic. */
async function impactMessagesSent(run: EngineRun): Promise<Map<string, IncidentImpactMessage>> {
  const consumer = createKafka(run.env, 'basefeed-map-check').consumer({
    kafkaJS: { groupId: `${run.groupId}-map-check`, fromBeginning: true },
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [internalTopic('aggregates', run.env.CITY_OPS_TOPIC_PREFIX)] });
  const sent = new Map<string, IncidentImpactMessage>();
  await new Promise<void>((resolve) => {
    let quiet = setTimeout(resolve, 8_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        const parsed = IncidentImpactMessage.safeParse(JSON.parse(String(message.value)));
        if (parsed.success) sent.set(parsed.data.incident_id, parsed.data);
        clearTimeout(quiet);
        quiet = setTimeout(resolve, 3_000);
      },
    });
  });
  await consumer.disconnect();
  return sent;
}
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 5, 1, 0, 0);

/**
 * The change feeds (issue 18) through Kafka and `city-ops base apply` (a process of its own, killed once
 * in the middle): residents moving in any order of time, buildings demolished, plants opened by grid staff,
 * every change published twice, and bad messages. The impact of incidents before, during and after the
 * changes equals a recount of the generated libraries with the changes applied by time.
 */
describe('base libraries kept current by their change feeds (Kafka, ClickHouse)', () => {
  let run: EngineRun;
  let applier: EngineProcess | undefined;
  const recount = new BaseRecount();
  const proximity = impactProximity(RADIUS_M);
  const messages = new Map<string, Array<{ key: string; value: string }>>();
  const send = (feed: keyof typeof BASE_TOPICS, key: string, value: unknown) => {
    const list = messages.get(feed) ?? [];
    list.push({ key, value: typeof value === 'string' ? value : JSON.stringify(value) });
    messages.set(feed, list);
  };
  let changes = 0;
  /** Messages of the feeds the applier has not committed (set by the first test, which starts it). */
  let behindNow: () => Promise<number> = async () => Number.NaN;
  let closeAdmin = async () => {};

  beforeAll(async () => {
    run = await prepareRun('basefeed', { partitions: 2 });
    await loadBase(
      run.clickhouse,
      { city: run.db, restricted: run.restricted },
      { scale: 0.005, seed: 3, tee: recount },
    );
    const random = new SeededRandom(11);
    const buildings = recount.buildingRows;
    // Residents move, each up to three times, at times in [T0 + 1 h, T0 + 5 h], sent in shuffled order.
    for (let i = 0; i < 1200; i++) {
      const person = recount.personRows[random.int(recount.personRows.length)]!;
      const moves = 1 + random.int(3);
      for (let k = 0; k < moves; k++) {
        const to = buildings[random.int(buildings.length)]!;
        const at = T0 + HOUR + k * HOUR + random.int(HOUR);
        if (recount.changes.some((c) => c.kind === 'move' && c.person_id === person.person_id && c.at === at))
          continue;
        recount.changes.push({ kind: 'move', person_id: person.person_id, to_building: to.building_id, at });
        send('population', person.person_id, {
          op: 'upsert',
          id: person.person_id,
          valid_from: at,
          building_id: to.building_id,
          dwelling_id: person.dwelling_id,
          name: person.name,
          id_number: person.id_number,
          phone: person.phone,
          birth_date: person.birth_date,
        });
      }
    }
    for (let i = 0; i < 25; i++) {
      const b = buildings[random.int(buildings.length)]!;
      const at = T0 + HOUR + random.int(4 * HOUR);
      if (recount.changes.some((c) => c.kind === 'demolish' && c.building_id === b.building_id)) continue;
      recount.changes.push({ kind: 'demolish', building_id: b.building_id, at });
      send('buildings', b.building_id, {
        op: 'delete',
        id: b.building_id,
        valid_from: new Date(at).toISOString(),
      });
    }
    for (let i = 0; i < 40; i++) {
      const b = buildings[random.int(buildings.length)]!;
      const at = T0 + HOUR + random.int(4 * HOUR);
      const id = `L-grid-${i}`;
      recount.changes.push({
        kind: 'open',
        legal_person_id: id,
        building_id: b.building_id,
        industry: 'chemical',
        at,
      });
      send('legal_persons', id, {
        op: 'upsert',
        id,
        valid_from: at,
        source: 'grid',
        staff_id: `grid-${i % 7}`,
        building_id: b.building_id,
        industry: 'chemical',
        employees: 12,
      });
    }
    changes = [...messages.values()].reduce((n, l) => n + l.length, 0);
    // Bad messages, one per reason.
    send('population', 'bad-1', '{"op":"upsert",');
    send('population', 'bad-2', {
      op: 'upsert',
      id: 'P-x',
      valid_from: T0,
      building_id: 'B1',
      dwelling_id: 'D1',
      name: '王伟',
      id_number: '44030419900101123X',
      birth_date: '1990-02-31',
    });
    send('buildings', 'bad-3', {
      op: 'upsert',
      id: 'B-sea',
      valid_from: T0,
      lat: 22.1,
      lon: 114.9,
      use: 'mixed',
      floors: 3,
    });
    send('legal_persons', 'bad-4', {
      op: 'upsert',
      id: 'L-x',
      valid_from: T0,
      source: 'grid',
      building_id: 'B1',
      industry: 'retail',
      employees: 1,
    });
    send('dwellings', 'bad-5', { op: 'delete', id: 'D-x', valid_from: '1999-12-31T00:00:00Z' });
    const kafka = createKafka(run.env, 'base-feed-test');
    const producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
    await producer.connect();
    // Everything twice, as a publisher that retries a whole batch would.
    for (let pass = 0; pass < 2; pass++)
      for (const [feed, list] of messages)
        await producer.send({
          topic: `${run.env.CITY_OPS_TOPIC_PREFIX}${BASE_TOPICS[feed as keyof typeof BASE_TOPICS]}`,
          messages: list,
        });
    await producer.disconnect();
  }, 240_000);

  afterAll(async () => {
    await closeAdmin();
    if (applier) await stopEngine(applier);
    if (run) await cleanupRun(run);
  });

  // One lookup for the whole run, as in the engine: each join reads forward what the applier wrote since.
  let lookup: BaseLookup | undefined;
  const impactsOf = (openings: IncidentOpening[]) => {
    const db = { city: run.db, restricted: run.restricted };
    lookup ??= new BaseLookup(db);
    return joinBaseImpacts(run.clickhouse, openings, RADIUS_M, proximity, lookup);
  };
  let earlyOpenings: IncidentOpening[] = [];
  let earlyResidents = new Map<string, unknown>();
  /** A building of each of the 8 cells with the most buildings. */
  const denseBuildings = () => {
    const byCell = new Map<string, number>();
    for (const b of recount.buildingRows) byCell.set(b.cell, (byCell.get(b.cell) ?? 0) + 1);
    return [...byCell]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([cell]) => recount.buildingRows.find((r) => r.cell === cell)!);
  };
  const count = async (sql: string) => Number((await query<{ n: string }>(run.clickhouse, sql))[0]?.n ?? 0);

  it('applies every change once, through a crash, and dead-letters each bad message with its reason', async () => {
    // The buildings are read into memory before any change: the checks below see what it read forward.
    lookup = new BaseLookup({ city: run.db, restricted: run.restricted });
    await lookup.refresh(run.clickhouse);
    expect(lookup.buildings.versions).toBe(recount.buildingRows.length);
    expect(lookup.dwellingColumns.rows).toBe(recount.dwellingRows.length);
    // Incidents at T0 + 3 h, joined before any change arrives, as the finalizer would have joined them: many
    // changes reach back before them, so the applier must join them again.
    earlyOpenings = incidentsAt(denseBuildings(), T0 + 3 * HOUR).map((x) => ({
      ...x,
      incident_id: `early-${x.incident_id}`,
      id: `early-${x.id}`,
    }));
    await run.clickhouse.insert({
      table: `${run.db}.events_atomic`,
      values: earlyOpenings.map((x) => ({
        ...x,
        ts: Math.floor(x.ts_ms / 1000),
        status: 'open',
        source: 'test',
      })),
      format: 'JSONEachRow',
    });
    // Their incident_impact rows as the finalizer writes them: the applier sends the map these with new figures.
    await run.clickhouse.insert({
      table: `${run.db}.incident_impact`,
      values: earlyOpenings.map(({ id, ...x }) => ({
        ...x,
        report_id: id,
        ts: Math.floor(x.ts_ms / 1000),
        radius_m: RADIUS_M,
        band_ms: 60_000,
        vehicles: 2,
        vehicle_observations: 3,
        nearest_vehicles: JSON.stringify([{ vehicle: 'bus-1', mode: 'bus', distance_m: 12.5 }]),
        people_present: 40,
        population_cells: 7,
        computed_at: Math.floor(Date.now() / 1000),
      })),
      format: 'JSONEachRow',
    });
    const db = { city: run.db, restricted: run.restricted };
    const early = await joinBaseImpacts(run.clickhouse, earlyOpenings, RADIUS_M, proximity, lookup);
    earlyResidents = new Map([...early.impacts].map(([id, impact]) => [id, impact.residents]));
    const sink = new ClickHouseSink(run.clickhouse);
    await sink.insertTsv(qualified(incidentBaseImpact, db), columnNames(incidentBaseImpact), [
      early.publicTsv,
    ]);
    await sink.insertTsv(qualified(incidentBaseImpactExact, db), columnNames(incidentBaseImpactExact), [
      early.exactTsv,
    ]);
    applier = startCityOps(run, ['base', 'apply', '--port', '0']);
    const admin = createKafka(run.env, 'base-feed-test-admin').admin();
    await admin.connect();
    const topics = Object.values(BASE_TOPICS).map((t) => `${run.env.CITY_OPS_TOPIC_PREFIX}${t}`);
    /** Messages the applier has not committed yet, over the four feeds. */
    const behind = async () => {
      const committed = await admin.fetchOffsets({
        groupId: `${run.env.CITY_OPS_TOPIC_PREFIX}city-ops-base`,
        topics,
      });
      let lag = 0;
      for (const topic of topics) {
        const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const p of await admin.fetchTopicOffsets(topic))
          lag +=
            Number(p.high) - Math.max(0, Number(done.find((d) => d.partition === p.partition)?.offset ?? 0));
      }
      return lag;
    };
    behindNow = behind;
    closeAdmin = () => admin.disconnect();
    const total = (await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t))))
      .flat()
      .reduce((n, p) => n + Number(p.high), 0);
    // Asked about a group before its consumer has joined, the client's offset fetch can crash this process
    // (confluent-kafka-javascript#374, a NOT_COORDINATOR answer): the first ask waits for the applier's
    // first rows.
    const deadlineFirst = Date.now() + 60_000;
    const written = `SELECT toString(count()) AS n FROM ${run.restricted}.base_membership WHERE source != 'generator'`;
    while ((await count(written)) === 0 && Date.now() < deadlineFirst)
      await new Promise((resolve) => setTimeout(resolve, 20));
    // Killed at its first commit, with most of the feeds still to apply (checked, so the restart is tested).
    let left = total;
    const deadline = Date.now() + 60_000;
    while (left === total && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      left = await behind();
    }
    await stopEngine(applier, 'SIGKILL');
    expect(left).toBeLessThan(total);
    expect(left).toBeGreaterThan(total / 4);
    applier = startCityOps(run, ['base', 'apply', '--port', '0']);
    await waitUntil(
      async () => (await behind()) === 0,
      120_000,
      async () => `${await behind()} of ${total} messages left`,
    );
    const members = await count(
      `SELECT toString(count()) AS n FROM ${run.restricted}.base_membership FINAL WHERE source != 'generator'`,
    );
    expect(members).toBe(changes - 25); // every change but the demolitions (building rows) is one membership
    const reasons = await query<{ reason: string; n: string }>(
      run.clickhouse,
      `SELECT reason, toString(count()) AS n FROM ${run.db}.dead_letters FINAL WHERE topic LIKE '%city.base.%' GROUP BY reason ORDER BY reason`,
    );
    expect(Object.fromEntries(reasons.map((r) => [r.reason, Number(r.n)]))).toEqual({
      impossible_coordinates: 2,
      impossible_timestamp: 2,
      invalid_json: 2,
      invalid_value: 4,
    });
    const shown = await query<{ payload: string }>(
      run.clickhouse,
      `SELECT payload FROM ${run.db}.dead_letters FINAL WHERE topic LIKE '%population' AND reason = 'invalid_value'`,
    );
    expect(shown[0]!.payload).not.toContain('王伟');
    expect(shown[0]!.payload).not.toContain('44030419900101123X');
  });

  it('joins again the incidents joined before changes that reach back before them', async () => {
    const stored = await query<Record<string, string>>(
      run.clickhouse,
      `SELECT incident_id, toString(buildings) AS b, toString(dwellings) AS d, toString(legal_persons) AS l,
          toString(residents_under_14) AS under_14, toString(residents_from_14_to_64) AS from_14_to_64,
          toString(residents_from_65) AS from_65
        FROM ${run.restricted}.incident_base_impact_exact FINAL WHERE incident_id LIKE 'early-%'`,
    );
    expect(stored).toHaveLength(earlyOpenings.length);
    let changed = 0;
    for (const row of stored) {
      const x = earlyOpenings.find((o) => o.incident_id === row['incident_id'])!;
      const want = recount.impact(x.lat, x.lon, x.ts_ms, RADIUS_M);
      const residents = { under_14: 0, from_14_to_64: 0, from_65: 0 };
      for (const band of Object.keys(residents) as Array<keyof typeof residents>)
        residents[band] = Number(row[band]);
      expect(
        { b: Number(row['b']), d: Number(row['d']), l: Number(row['l']), r: residents },
        x.incident_id,
      ).toEqual({ b: want.buildings, d: want.dwellings, l: want.legal_persons, r: want.residents });
      if (JSON.stringify(earlyResidents.get(x.incident_id)) !== JSON.stringify(residents)) changed += 1;
    }
    expect(changed).toBeGreaterThan(0); // the changes did alter figures joined before them

    // The map was sent the new figures, with the incident_impact row's own: the last message of each wins.
    const sent = await impactMessagesSent(run);
    let told = 0;
    for (const x of earlyOpenings) {
      const want = recount.impact(x.lat, x.lon, x.ts_ms, RADIUS_M);
      const message = sent.get(x.incident_id);
      const moved = JSON.stringify(earlyResidents.get(x.incident_id)) !== JSON.stringify(want.residents);
      if (moved) expect(message, `${x.incident_id} changed; the map was not told`).toBeDefined();
      if (message === undefined) continue;
      told += 1;
      expect({
        vehicles: message!.vehicles,
        people: message!.people_present,
        b: message!.base!.buildings,
        r: message!.base!.residents,
      }).toEqual({ vehicles: 2, people: 40, b: want.buildings, r: publicResidents(want.residents) });
    }
    expect(told).toBeGreaterThan(0);
  });

  it('answers as the libraries stood at any time, equal to a recount with the changes applied', async () => {
    let nonEmpty = 0;
    for (const at of [T0, T0 + 2.5 * HOUR, T0 + 4 * HOUR, T0 + 6 * HOUR]) {
      const openings = incidentsAt(denseBuildings(), at);
      const { impacts } = await impactsOf(openings);
      for (const x of openings) {
        const got = impacts.get(x.incident_id)!;
        const want = recount.impact(x.lat, x.lon, at, RADIUS_M);
        expect(
          { b: got.buildings, d: got.dwellings, r: got.residents, l: got.by_industry },
          `${x.incident_id} at ${new Date(at).toISOString()}`,
        ).toEqual({
          b: want.buildings,
          d: want.dwellings,
          r: want.residents,
          l: want.by_industry,
        });
        if (want.residents.from_14_to_64 > 0) nonEmpty += 1;
      }
    }
    expect(nonEmpty).toBeGreaterThan(20);
    // The grid staff's corrections carry their provenance.
    expect(
      await count(
        `SELECT toString(count()) AS n FROM ${run.db}.base_legal_persons FINAL WHERE source = 'grid' AND provenance LIKE 'grid:grid-%'`,
      ),
    ).toBe(40);
  });

  it('reconciles a batch copy: reports what differs, and the store then answers as the copy says', async () => {
    const asOf = T0 + 7 * HOUR;
    const random = new SeededRandom(23);
    const listed = recount.population(asOf);
    const dropped = new Set(listed.filter(() => random.chance(0.0004)).map((p) => p.person_id));
    const moved = new Map(
      listed
        .filter((p) => !dropped.has(p.person_id) && random.chance(0.0003))
        .map((p) => [
          p.person_id,
          recount.buildingRows[random.int(recount.buildingRows.length)]!.building_id,
        ]),
    );
    const born = Array.from({ length: 10 }, (_, i) => ({
      ...listed[i]!,
      person_id: `P-new-${i}`,
      building_id: recount.buildingRows[random.int(recount.buildingRows.length)]!.building_id,
    }));
    const line = (p: (typeof listed)[number], building: string) =>
      JSON.stringify({
        id: p.person_id,
        building_id: building,
        dwelling_id: p.dwelling_id,
        name: p.name,
        id_number: p.id_number,
        phone: p.phone,
        birth_date: p.birth_date,
      });
    // One resident listed on a broken line: the copy must not delete them, and is refused without --force.
    const badly = listed.find((p) => !dropped.has(p.person_id) && !moved.has(p.person_id))!;
    const lines = [
      ...listed
        .filter((p) => !dropped.has(p.person_id) && p !== badly)
        .map((p) => line(p, moved.get(p.person_id) ?? p.home)),
      ...born.map((p) => line({ ...p, home: p.building_id }, p.building_id)),
      JSON.stringify({ id: badly.person_id, building_id: 7 }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'base-copy-'));
    const file = join(dir, 'population-copy.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const reconcile = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [BIN, 'base', 'reconcile', '--library', 'population', '--as-of', String(asOf), ...extra, file],
        {
          env: {
            ...process.env,
            CITY_OPS_TOPIC_PREFIX: run.env.CITY_OPS_TOPIC_PREFIX,
            CLICKHOUSE_DATABASE: run.db,
            CLICKHOUSE_RESTRICTED_DATABASE: run.restricted,
          },
          encoding: 'utf8',
        },
      );
    const refused = reconcile();
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('nothing sent');
    expect(await behindNow()).toBe(0);
    const done = reconcile('--force');
    rmSync(dir, { recursive: true, force: true });
    expect(done.status, done.stderr).toBe(0);
    const report = JSON.parse(done.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      missing: 10,
      extra: dropped.size,
      differs: moved.size,
      invalidLines: 1,
      invalid: [{ line: lines.length }],
    });
    expect(dropped.size).toBeGreaterThan(10);
    expect(moved.size).toBeGreaterThan(10);
    expect(done.stdout).not.toContain(listed[0]!.name); // ids and field names only
    for (const id of dropped) recount.changes.push({ kind: 'remove', person_id: id, at: asOf });
    for (const [id, to] of moved)
      recount.changes.push({ kind: 'move', person_id: id, to_building: to, at: asOf });
    for (const p of born) recount.changes.push({ kind: 'register', person: p, at: asOf });
    await waitUntil(
      async () => (await behindNow()) === 0,
      60_000,
      async () => `${await behindNow()} messages left`,
    );
    const touched = new Set([
      ...moved.values(),
      ...born.map((p) => p.building_id),
      ...listed.filter((p) => dropped.has(p.person_id)).map((p) => p.home),
      badly.home,
    ]);
    const places = recount.buildingRows.filter((b) => touched.has(b.building_id)).slice(0, 25);
    for (const at of [asOf - 1, asOf + HOUR]) {
      const openings = incidentsAt(places, at);
      const { impacts } = await impactsOf(openings);
      for (const x of openings)
        expect(impacts.get(x.incident_id)!.residents, `${x.incident_id} at ${at}`).toEqual(
          recount.impact(x.lat, x.lon, at, RADIUS_M).residents,
        );
    }
  });
});
