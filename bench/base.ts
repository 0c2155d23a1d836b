/**
 * bench:base: the base libraries at the seed's scale on the local stack (issue 18).
 * - the load: `generateBase` into ClickHouse at --scale (default 1.0: 830 k buildings, 13.51 M dwellings,
 *   18.44 M people, 2.88 M legal persons), its time, the bytes on disk per table and this process's peak RSS
 *   and ClickHouse's;
 * - the engine's in-memory libraries (`BaseLookup`: buildings and their members) read in a process of its
 *   own: its time and RSS;
 * - one incident's impact join (`joinBaseImpacts` for a single incident, as of its time) at --incidents
 *   places drawn like the simulator's incidents (where people live and work): p50, p99, max;
 * - the change feeds: --changes residents' moves to city.base.population and a tenth as many legal persons'
 *   moves to city.base.legal_persons, applied by the feed applier (in this process): records per second
 *   from its start to its last commit;
 * - a batch copy of every legal person, one in 200 dropped and one in 200 moved and 1,000 added, reconciled
 *   by `city-ops base reconcile` (its time and peak RSS; what it reports against what was done);
 * - exactness: 50 incidents' joins against a brute-force recount (BaseTally), at their time, after the
 *   moves, and after the copy.
 *
 *   npm run bench:base                       # scale 1.0 (about 40 minutes and 4 GB of disk)
 *   npm run bench:base -- --scale 0.1 --incidents 200 --changes 20000
 *
 * Writes bench/results/base.json (the command, the machine, every figure).
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { latLngToCell } from 'h3-js';
import { Registry } from 'prom-client';
import type { BaseImpact } from '../engine/base/baseImpact.ts';
import { joinBaseImpacts } from '../engine/base/baseImpactJoin.ts';
import { BaseLookup } from '../engine/base/baseLookup.ts';
import { BaseFeedApplier } from '../engine/base/feedApplier.ts';
import type { BaseSink, BuildingRow, LegalPersonRow, PersonRow } from '../engine/base/generateBase.ts';
import { loadBase } from '../engine/base/loadBase.ts';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { createClickHouse } from '../engine/connectors/clickhouse/client.ts';
import {
  baseBuildings,
  baseDwellings,
  baseLegalPersons,
  baseResidence,
} from '../engine/connectors/clickhouse/tables/base.ts';
import { qualified } from '../engine/connectors/clickhouse/tables/table.ts';
import { createKafka } from '../engine/connectors/kafka/client.ts';
import { BASE_TOPICS } from '../engine/contract/topics.ts';
import { CELL_RESOLUTION } from '../engine/geo/cells.ts';
import { createLogger } from '../engine/observability/logger.ts';
import { type IncidentOpening, impactProximity } from '../engine/pipeline/incidentImpact.ts';
import { SeededRandom } from '../engine/simulator/SeededRandom.ts';
import { BaseTally } from '../tests/helpers/baseRecount.ts';
import { publishMoves, reconcileWithCli, SiteFile, writeCopy } from './baseChanges.ts';
import { machineFacts, openBenchStack, processUsage } from './benchStack.ts';

/** Runs bench/baseLookupChild.ts: the engine's lookup in a clean process, and the joins timed there. */
function measureLookup(stackEnv: object, what: 'buildings' | 'all', places?: string) {
  const env = Object.fromEntries(
    Object.entries(stackEnv)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(PROJECT_ROOT, 'bench', 'baseLookupChild.ts')],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env, LOOKUP: what, ...(places ? { PLACES: places } : {}) },
    },
  );
  if (child.status !== 0) throw new Error(`the lookup's process failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as {
    buildings: number;
    versions: number;
    dwellings: number;
    residents: number;
    legalPersons: number;
    seconds: number;
    rssMiB: number;
    peakRssMiB: number;
    joins?: {
      incidents: number;
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
      readForward: { p50Ms: number; p99Ms: number; maxMs: number };
    };
  };
}

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    incidents: { type: 'string', default: '300' },
    changes: { type: 'string', default: '100000' },
  },
});
const scale = Number(values.scale);
/** Incidents whose join is checked against the recount, at their time and after the moves. */
const EXACT_INCIDENTS = 50;
const tally = new BaseTally();
const openings: IncidentOpening[] = [];

type Counts = Pick<BaseImpact, 'buildings' | 'dwellings' | 'residents' | 'legal_persons' | 'by_industry'>;
/** The figures the recount has, with industries in one order. */
function counts(x: Counts) {
  const by_industry = Object.fromEntries(Object.entries(x.by_industry).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { b: x.buildings, d: x.dwellings, r: x.residents, l: x.legal_persons, i: by_industry };
}
const sameCounts = (a: Counts, b: Counts) => JSON.stringify(counts(a)) === JSON.stringify(counts(b));
const say = (line: string) => process.stderr.write(`[bench:base] ${line}\n`);
const stack = await openBenchStack('base', 2, say);
const db = { city: stack.env.CLICKHOUSE_DATABASE, restricted: stack.env.CLICKHOUSE_RESTRICTED_DATABASE };
const random = new SeededRandom(5);

/** A sample of the generated rows, kept while they stream past: places for incidents, people to move. */
const sample = { buildings: [] as BuildingRow[], people: [] as PersonRow[], sites: [] as LegalPersonRow[] };
const scratch = mkdtempSync(join(tmpdir(), 'bench-base-'));
/** Every legal person, for the batch copy. */
const siteFile = new SiteFile(join(scratch, 'generated-legal-persons.jsonl'));
const keep: BaseSink = {
  buildings: async (rows) => void sample.buildings.push(...rows.filter(() => random.chance(0.01))),
  dwellings: async () => {},
  legalPersons: async (rows) => {
    sample.sites.push(...rows.filter(() => random.chance(0.01)));
    await siteFile.write(rows);
  },
  people: async (rows) => void sample.people.push(...rows.filter(() => random.chance(0.01))),
};

try {
  const shown = new Map<string, number>();
  const load = await loadBase(stack.clickhouse, db, {
    scale,
    seed: 1,
    tee: {
      buildings: async (rows) => void (await Promise.all([keep.buildings(rows), tally.buildings(rows)])),
      dwellings: (rows) => tally.dwellings(rows),
      legalPersons: async (rows) =>
        void (await Promise.all([keep.legalPersons(rows), tally.legalPersons(rows)])),
      people: async (rows) => void (await Promise.all([keep.people(rows), tally.people(rows)])),
    },
    progress: (table, done, total) => {
      const tenth = Math.floor((done / total) * 10);
      if (tenth !== shown.get(table))
        say(`${table}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`);
      shown.set(table, tenth);
    },
  });
  await siteFile.close();
  const clickhouseAfterLoad = processUsage(stack.clickhousePid);
  say(`loaded in ${load.seconds.toFixed(1)} s; peak RSS ${(load.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);

  const lookupProcess = measureLookup(stack.env, 'buildings');
  say(
    `buildings in memory: ${lookupProcess.buildings.toLocaleString('en')} read in ${lookupProcess.seconds.toFixed(1)} s; RSS ${lookupProcess.rssMiB} MiB (peak ${lookupProcess.peakRssMiB})`,
  );
  // One incident at a time, as the finalizer joins a chunk of one, each join reading the lookup forward
  // first; timed in a clean process that holds the lookup as the engine's join thread does.
  const count = Number(values.incidents);
  const places: IncidentOpening[] = [];
  for (let i = 0; i < count; i++) {
    const b = sample.buildings[random.int(sample.buildings.length)]!;
    const lat = b.lat + random.between(-0.002, 0.002);
    const lon = b.lon + random.between(-0.002, 0.002);
    places.push({
      incident_id: `bench-${i}`,
      id: `bench-${i}`,
      ts_ms: Date.now(),
      district: b.district,
      category: 'fire',
      severity: 2,
      lat,
      lon,
      cell: latLngToCell(lat, lon, CELL_RESOLUTION),
    });
  }
  openings.push(...places.slice(0, EXACT_INCIDENTS));
  const placesFile = join(scratch, 'places.json');
  writeFileSync(placesFile, JSON.stringify(places));
  const timeJoins = (when: string) => {
    const measured = measureLookup(stack.env, 'all', placesFile);
    const joins = measured.joins!;
    say(
      `buildings and members in memory: ${(measured.dwellings + measured.residents + measured.legalPersons).toLocaleString('en')} member versions read in ${measured.seconds.toFixed(1)} s; RSS ${measured.rssMiB} MiB (peak ${measured.peakRssMiB})`,
    );
    say(
      `impact join ${when}: p50 ${joins.p50Ms} ms, p99 ${joins.p99Ms} ms over ${joins.incidents} incidents (its read-forward check alone: p50 ${joins.readForward.p50Ms} ms, p99 ${joins.readForward.p99Ms} ms)`,
    );
    return measured;
  };
  // Right after the load ClickHouse is still merging the parts the joins read; then with the tables merged,
  // as an operator would leave them after a bulk load.
  const { joins: afterLoad, ...wholeProcess } = timeJoins('right after the load');
  const optimizeStarted = performance.now();
  const patient = createClickHouse(stack.env, 'engine', { requestTimeoutMs: 3_600_000 });
  for (const table of [baseBuildings, baseDwellings, baseResidence, baseLegalPersons])
    await patient.command({ query: `OPTIMIZE TABLE ${qualified(table, db)} FINAL` });
  await patient.close();
  const optimizeSeconds = Math.round((performance.now() - optimizeStarted) / 100) / 10;
  say(`tables merged (OPTIMIZE FINAL) in ${optimizeSeconds} s`);
  const merged = timeJoins('with the tables merged').joins!;
  // The bench's own copy, for the exactness checks (their times are not measured).
  const proximity = impactProximity(500);
  const lookup = new BaseLookup(db);
  await lookup.refresh(stack.clickhouse);

  // The feeds: residents' and legal persons' moves, applied by the feed applier (in this process).
  const changes = { residents: Number(values.changes), sites: Math.round(Number(values.changes) / 10) };
  const kafka = createKafka(stack.env, `bench-base-${stack.id}`);
  const producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
  await producer.connect();
  const context = {
    producer,
    topicPrefix: stack.env.CITY_OPS_TOPIC_PREFIX,
    sample,
    tally,
    random,
    siteHome: new Map<string, string>(),
  };
  const t0 = Date.now();
  const published = await publishMoves(context, changes, t0);
  const groupId = `bench-base-${stack.id}`;
  const applier = new BaseFeedApplier(stack.clickhouse, {
    db,
    topicPrefix: stack.env.CITY_OPS_TOPIC_PREFIX,
    groupId,
    registry: new Registry(),
    logger: createLogger('bench-base', 'warn'),
  });
  const applyStarted = performance.now();
  await applier.start(kafka);
  const admin = kafka.admin();
  await admin.connect();
  const feedTopics = (['population', 'legal_persons'] as const).map(
    (f) => `${stack.env.CITY_OPS_TOPIC_PREFIX}${BASE_TOPICS[f]}`,
  );
  /** Waits until the applier has committed every message of the two feeds. */
  const applied = async () => {
    for (;;) {
      let behind = 0;
      const committed = await admin.fetchOffsets({ groupId, topics: feedTopics });
      for (const topic of feedTopics) {
        const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const p of await admin.fetchTopicOffsets(topic))
          behind +=
            Number(p.high) - Math.max(0, Number(done.find((d) => d.partition === p.partition)?.offset ?? 0));
      }
      if (behind === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  await applied();
  const applySeconds = (performance.now() - applyStarted) / 1000;
  say(
    `feed: ${changes.residents} residents' and ${changes.sites} legal persons' moves applied in ${applySeconds.toFixed(1)} s (${Math.round(published / applySeconds)} /s)`,
  );

  // The batch copy of the legal persons, as of a time after every move, reconciled by the command.
  const asOf = t0 + published + 1_000;
  const copyPath = join(scratch, 'legal_persons.jsonl');
  const copy = await writeCopy(context, siteFile, copyPath, { rate: 200, added: 1_000, asOf });
  const envOf = Object.fromEntries(
    Object.entries(stack.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  const reconciled = reconcileWithCli(
    { ...envOf, NODE_OPTIONS: '--max-old-space-size=8192' },
    copyPath,
    asOf,
  );
  say(
    `batch copy of ${copy.records} legal persons reconciled in ${reconciled.seconds} s (peak RSS ${reconciled.peakRssMiB} MiB): ${JSON.stringify(reconciled.report)}`,
  );
  const copyApplyStarted = performance.now();
  await applied();
  const copyApplySeconds = (performance.now() - copyApplyStarted) / 1000;
  await admin.disconnect();
  await applier.close();
  await producer.disconnect();

  // At the seed's scale, the join against the brute-force tally: as of each incident's time (before the
  // changes), the same places after every move, and after the copy was reconciled.
  let equal = 0;
  const checks = [
    ...openings,
    ...openings.map((x) => ({ ...x, incident_id: `${x.incident_id}-moved`, ts_ms: t0 + published })),
    ...openings.map((x) => ({ ...x, incident_id: `${x.incident_id}-copied`, ts_ms: asOf })),
  ];
  for (const x of checks) {
    const got = (await joinBaseImpacts(stack.clickhouse, [x], 500, proximity, lookup)).impacts.get(
      x.incident_id,
    )!;
    const want = tally.impact(x.lat, x.lon, x.ts_ms, 500);
    const same = sameCounts(got, want);
    if (same) equal += 1;
    else
      say(`${x.incident_id}: join ${JSON.stringify(counts(got))}, recount ${JSON.stringify(counts(want))}`);
  }
  say(`exact: ${equal} of ${checks.length} joins equal the brute-force recount`);

  const result = {
    command: `npm run bench:base${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: machineFacts(),
    scale,
    load: {
      counts: load.counts,
      seconds: Math.round(load.seconds * 10) / 10,
      bytesOnDisk: load.bytesOnDisk,
      totalMiB: Math.round(Object.values(load.bytesOnDisk).reduce((a, b) => a + b, 0) / 2 ** 20),
      generatorPeakRssMiB: Math.round(load.peakRssBytes / 2 ** 20),
      clickhousePeakRssMiB: Math.round(clickhouseAfterLoad.peakRssMb),
    },
    impactJoin: {
      what: 'joinBaseImpacts for one incident at a time, each reading the lookup forward first, in a clean process holding only the engine’s BaseLookup (bench/baseLookupChild.ts)',
      incidents: count,
      radiusM: 500,
      afterLoad,
      optimizeFinalSeconds: optimizeSeconds,
      merged,
      goal: { p99Ms: 50, reached: afterLoad!.p99Ms <= 50 && merged.p99Ms <= 50 },
    },
    exact: {
      what: 'one incident’s join equals a brute-force recount of the generated libraries (tests/helpers/baseRecount.ts BaseTally), as of its time, after the feeds’ moves, and after the batch copy was reconciled',
      joins: checks.length,
      equal,
    },
    feed: {
      what: 'residents’ and legal persons’ moves through city.base.population and city.base.legal_persons, applied by BaseFeedApplier',
      changes,
      seconds: Math.round(applySeconds * 10) / 10,
      perSecond: Math.round(published / applySeconds),
    },
    batchCopy: {
      what: 'a copy of every legal person as of after the moves, with some dropped, moved and added, reconciled by `city-ops base reconcile --library legal_persons`, its changes then applied by the applier',
      wrote: copy,
      reported: reconciled.report,
      expected: { missing: copy.added, extra: copy.dropped, differs: copy.moved },
      reconcileSeconds: reconciled.seconds,
      reconcilePeakRssMiB: reconciled.peakRssMiB,
      appliedSeconds: Math.round(copyApplySeconds * 10) / 10,
    },
    inStreamLookup: {
      what: 'a process holding only the engine’s buildings (BaseLookup.buildings), read from ClickHouse (node + tsx, after a GC); the goal is checked against the peak',
      ...lookupProcess,
      goal: { rssMB: 300, reached: lookupProcess.peakRssMiB * 1.048576 <= 300 },
    },
    inStreamLibraries: {
      what: 'a process holding the engine’s whole BaseLookup (buildings, and every version of their dwellings, residents and legal persons), read from ClickHouse (node + tsx, after a GC)',
      ...wholeProcess,
    },
  };
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  const file = join(PROJECT_ROOT, 'bench', 'results', scale === 1 ? 'base.json' : `base-${scale}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  say(`wrote ${file}`);
} finally {
  await stack.drop();
  rmSync(scratch, { recursive: true, force: true });
}
