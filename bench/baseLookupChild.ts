/**
 * bench:base's clean process: loads the engine's in-memory libraries as its join thread does, and nothing
 * else, so that their memory and the joins' times are the engine's and not the bench's (whose own heap, with
 * the recount, is gigabytes). LOOKUP=buildings loads the buildings alone; LOOKUP=all loads their members
 * too and, given PLACES (a JSON file of incident openings), times one join per incident.
 * Prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import { joinBaseImpacts } from '../engine/base/baseImpactJoin.ts';
import { BaseLookup } from '../engine/base/baseLookup.ts';
import { loadEnvironment } from '../engine/config/environment.ts';
import { createClickHouse } from '../engine/connectors/clickhouse/client.ts';
import { type IncidentOpening, impactProximity } from '../engine/pipeline/incidentImpact.ts';

const env = loadEnvironment();
const client = createClickHouse(env, 'engine', { requestTimeoutMs: 600_000 });
const lookup = new BaseLookup({
  city: env.CLICKHOUSE_DATABASE,
  restricted: env.CLICKHOUSE_RESTRICTED_DATABASE,
});
const started = performance.now();
if (process.env['LOOKUP'] === 'all') await lookup.refresh(client);
else await lookup.buildings.refresh(client);
const seconds = (performance.now() - started) / 1000;
(globalThis as { gc?: () => void }).gc?.();
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const memory = {
  rssMiB: mib(process.memoryUsage().rss),
  peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
};

type Times = { p50Ms: number; p99Ms: number; maxMs: number };
const quantiles = (ms: number[]): Times => {
  ms.sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]! * 10) / 10;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
};
let joins: (Times & { incidents: number; readForward: Times }) | undefined;
if (process.env['PLACES']) {
  const places = JSON.parse(readFileSync(process.env['PLACES'], 'utf8')) as IncidentOpening[];
  const proximity = impactProximity(500);
  const ms: number[] = [];
  for (const x of places) {
    const t0 = performance.now();
    await joinBaseImpacts(client, [x], 500, proximity, lookup);
    ms.push(performance.now() - t0);
  }
  // The part of each join that asks ClickHouse whether anything was written since (nothing was, here).
  const check: number[] = [];
  for (const _ of places) {
    const t0 = performance.now();
    await lookup.refresh(client);
    check.push(performance.now() - t0);
  }
  joins = { incidents: ms.length, ...quantiles(ms), readForward: quantiles(check) };
}
await client.close();
process.stdout.write(
  JSON.stringify({
    buildings: lookup.buildings.buildings,
    versions: lookup.buildings.versions,
    dwellings: lookup.dwellingColumns.rows,
    residents: lookup.residentColumns.rows,
    legalPersons: lookup.legalPersonColumns.rows,
    seconds: Math.round(seconds * 10) / 10,
    ...memory,
    ...(joins ? { joins } : {}),
  }),
);
