/**
 * bench:base: the base libraries at the seed's scale on the local stack (issue 18).
 * - the load: `generateBase` into ClickHouse at --scale (default 1.0: 830 k buildings, 13.51 M dwellings,
 *   18.44 M people, 2.88 M legal persons), its time, the bytes on disk per table and this process's peak RSS
 *   and ClickHouse's;
 * - the engine's in-memory libraries (`BaseLookup`: buildings and their members) read in a process of its
 *   own: its time and RSS;
 * - one incident's impact join (`joinBaseImpacts` for a single incident, as of its time) at --incidents
 *   places drawn like the simulator's incidents (where people live and work): p50, p99, max;
 * - exactness: 50 incidents' joins against a brute-force recount (BaseTally), at their time and after the moves;
 * - the change feeds: --changes residents' moves published to city.base.population and applied by the
 *   feed applier (in this process), records per second from its start to its last commit.
 *
 *   npm run bench:base                       # scale 1.0 (about 10 minutes and 4 GB of disk)
 *   npm run bench:base -- --scale 0.1 --incidents 200 --changes 20000
 *
 * Writes bench/results/base.json (the command, the machine, every figure).
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { latLngToCell } from 'h3-js';
import { Registry } from 'prom-client';
import type { BaseImpact } from '../engine/base/baseImpact.ts';
import { joinBaseImpacts } from '../engine/base/baseImpactJoin.ts';
import { BaseLookup } from '../engine/base/baseLookup.ts';
import { BaseFeedApplier } from '../engine/base/feedApplier.ts';
import type { BaseSink, BuildingRow, PersonRow } from '../engine/base/generateBase.ts';
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
import { machineFacts, openBenchStack, processUsage } from './benchStack.ts';

/**
 * Loads the buildings' lookup alone (LOOKUP=buildings), or the whole of the engine's copy with the members
 * (LOOKUP=all), in a process of its own, and prints what it holds, its time and its memory.
 */
const LOOKUP_CHILD = `
const { loadEnvironment } = await import(${JSON.stringify(join(PROJECT_ROOT, 'engine/config/environment.ts'))});
const { createClickHouse } = await import(${JSON.stringify(join(PROJECT_ROOT, 'engine/connectors/clickhouse/client.ts'))});
const { BaseLookup } = await import(${JSON.stringify(join(PROJECT_ROOT, 'engine/base/baseLookup.ts'))});
const env = loadEnvironment();
const client = createClickHouse(env, 'engine', { requestTimeoutMs: 600_000 });
const lookup = new BaseLookup({ city: env.CLICKHOUSE_DATABASE, restricted: env.CLICKHOUSE_RESTRICTED_DATABASE });
const started = performance.now();
if (process.env.LOOKUP === 'all') await lookup.refresh(client);
else await lookup.buildings.refresh(client);
const seconds = (performance.now() - started) / 1000;
await client.close();
globalThis.gc();
const mib = (bytes) => Math.round(bytes / 2 ** 20);
process.stdout.write(JSON.stringify({
  buildings: lookup.buildings.buildings, versions: lookup.buildings.versions,
  dwellings: lookup.dwellingColumns.rows, residents: lookup.residentColumns.rows,
  legalPersons: lookup.legalPersonColumns.rows, seconds: Math.round(seconds * 10) / 10,
  rssMiB: mib(process.memoryUsage().rss), peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
}));
`;

function measureLookup(stackEnv: object, what: 'buildings' | 'all') {
  const env = Object.fromEntries(
    Object.entries(stackEnv)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', LOOKUP_CHILD],
    { encoding: 'utf8', env: { ...process.env, ...env, LOOKUP: what } },
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
const sample = { buildings: [] as BuildingRow[], people: [] as PersonRow[] };
const keep: BaseSink = {
  buildings: async (rows) => void sample.buildings.push(...rows.filter(() => random.chance(0.01))),
  dwellings: async () => {},
  legalPersons: async () => {},
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
      legalPersons: (rows) => tally.legalPersons(rows),
      people: async (rows) => void (await Promise.all([keep.people(rows), tally.people(rows)])),
    },
    progress: (table, done, total) => {
      const tenth = Math.floor((done / total) * 10);
      if (tenth !== shown.get(table))
        say(`${table}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`);
      shown.set(table, tenth);
    },
  });
  const clickhouseAfterLoad = processUsage(stack.clickhousePid);
  say(`loaded in ${load.seconds.toFixed(1)} s; peak RSS ${(load.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);

  const lookupProcess = measureLookup(stack.env, 'buildings');
  say(
    `buildings in memory: ${lookupProcess.buildings.toLocaleString('en')} read in ${lookupProcess.seconds.toFixed(1)} s; RSS ${lookupProcess.rssMiB} MiB (peak ${lookupProcess.peakRssMiB})`,
  );
  const wholeProcess = measureLookup(stack.env, 'all');
  say(
    `buildings and members in memory: ${(wholeProcess.dwellings + wholeProcess.residents + wholeProcess.legalPersons).toLocaleString('en')} member versions read in ${wholeProcess.seconds.toFixed(1)} s; RSS ${wholeProcess.rssMiB} MiB (peak ${wholeProcess.peakRssMiB})`,
  );
  const lookup = new BaseLookup(db);
  await lookup.refresh(stack.clickhouse);

  // One incident at a time, as the finalizer joins a chunk of one; each join first reads the lookup forward.
  const proximity = impactProximity(500);
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
  const timeJoins = async (when: string) => {
    const joinMs: number[] = [];
    for (const x of places) {
      const started = performance.now();
      await joinBaseImpacts(stack.clickhouse, [x], 500, proximity, lookup);
      joinMs.push(performance.now() - started);
    }
    joinMs.sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(joinMs[Math.min(joinMs.length - 1, Math.floor(q * joinMs.length))]! * 10) / 10;
    say(`impact join ${when}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms over ${count} incidents`);
    return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  };
  // Right after the load ClickHouse is still merging the parts the joins read; then with the tables merged,
  // as an operator would leave them after a bulk load.
  const afterLoad = await timeJoins('right after the load');
  const optimizeStarted = performance.now();
  const patient = createClickHouse(stack.env, 'engine', { requestTimeoutMs: 3_600_000 });
  for (const table of [baseBuildings, baseDwellings, baseResidence, baseLegalPersons])
    await patient.command({ query: `OPTIMIZE TABLE ${qualified(table, db)} FINAL` });
  await patient.close();
  const optimizeSeconds = Math.round((performance.now() - optimizeStarted) / 100) / 10;
  say(`tables merged (OPTIMIZE FINAL) in ${optimizeSeconds} s`);
  const merged = await timeJoins('with the tables merged');

  const changes = Number(values.changes);
  const kafka = createKafka(stack.env, `bench-base-${stack.id}`);
  const topic = `${stack.env.CITY_OPS_TOPIC_PREFIX}${BASE_TOPICS.population}`;
  const producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
  await producer.connect();
  const t0 = Date.now();
  for (let i = 0; i < changes; i += 5000) {
    const batch = [];
    for (let k = i; k < Math.min(changes, i + 5000); k++) {
      const p = sample.people[random.int(sample.people.length)]!;
      const to = sample.buildings[random.int(sample.buildings.length)]!;
      const value = { op: 'upsert', id: p.person_id, valid_from: t0 + k, building_id: to.building_id };
      tally.move(p, to.building_id, t0 + k);
      batch.push({
        key: p.person_id,
        value: JSON.stringify({
          ...value,
          dwelling_id: p.dwelling_id,
          name: p.name,
          id_number: p.id_number,
          phone: p.phone,
          birth_date: p.birth_date,
        }),
      });
    }
    await producer.send({ topic, messages: batch });
  }
  await producer.disconnect();
  const registry = new Registry();
  const applier = new BaseFeedApplier(stack.clickhouse, {
    db,
    topicPrefix: stack.env.CITY_OPS_TOPIC_PREFIX,
    groupId: `bench-base-${stack.id}`,
    registry,
    logger: createLogger('bench-base', 'warn'),
  });
  const applyStarted = performance.now();
  await applier.start(kafka);
  const admin = kafka.admin();
  await admin.connect();
  for (;;) {
    const [committed] = await admin.fetchOffsets({ groupId: `bench-base-${stack.id}`, topics: [topic] });
    const done = (committed?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    if (done >= changes) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const applySeconds = (performance.now() - applyStarted) / 1000;
  await admin.disconnect();
  await applier.close();
  say(
    `feed: ${changes} moves applied in ${applySeconds.toFixed(1)} s (${Math.round(changes / applySeconds)} /s)`,
  );

  // At the seed's scale, the join against the brute-force tally: as of each incident's time (before the
  // moves), and the same places after every move.
  let equal = 0;
  const checks = [
    ...openings,
    ...openings.map((x) => ({ ...x, incident_id: `${x.incident_id}-after`, ts_ms: t0 + changes })),
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
      incidents: count,
      radiusM: 500,
      afterLoad,
      optimizeFinalSeconds: optimizeSeconds,
      merged,
      goal: { p99Ms: 50, reached: merged.p99Ms <= 50 },
    },
    exact: {
      what: 'one incident’s join equals a brute-force recount of the generated libraries (tests/helpers/baseRecount.ts BaseTally), as of its time and after the moves',
      joins: checks.length,
      equal,
    },
    feed: {
      changes,
      seconds: Math.round(applySeconds * 10) / 10,
      perSecond: Math.round(changes / applySeconds),
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
}
