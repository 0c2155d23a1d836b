/**
 * bench:base's changes to the libraries at the seed's scale, each mirrored in the brute-force tally:
 * residents and legal persons moved through the change feeds, then a batch copy of the legal persons,
 * with records dropped, moved and added, reconciled by the `city-ops base reconcile` command.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { BuildingRow, LegalPersonRow, PersonRow } from '../engine/base/generateBase.ts';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { INDUSTRIES } from '../engine/contract/baseLibraries.ts';
import { BASE_TOPICS } from '../engine/contract/topics.ts';
import type { SeededRandom } from '../engine/simulator/SeededRandom.ts';
import type { BaseTally } from '../tests/helpers/baseRecount.ts';

/** Where the changes go, what they may pick from, and the tally that must follow them. */
export interface ChangeContext {
  readonly producer: KafkaJS.Producer;
  readonly topicPrefix: string;
  readonly sample: {
    readonly buildings: readonly BuildingRow[];
    readonly people: readonly PersonRow[];
    readonly sites: readonly LegalPersonRow[];
  };
  readonly tally: BaseTally;
  readonly random: SeededRandom;
  /** Legal persons moved so far: id -> building. */
  readonly siteHome: Map<string, string>;
}

/** Publishes `residents` moves and `sites` moves of legal persons, at t0 + k ms each; returns the count. */
export async function publishMoves(
  c: ChangeContext,
  counts: { residents: number; sites: number },
  t0: number,
): Promise<number> {
  const total = counts.residents + counts.sites;
  for (let i = 0; i < total; i += 5000) {
    const people: KafkaJS.Message[] = [];
    const sites: KafkaJS.Message[] = [];
    for (let k = i; k < Math.min(total, i + 5000); k++) {
      const to = c.sample.buildings[c.random.int(c.sample.buildings.length)]!.building_id;
      const valid_from = t0 + k;
      if (k < counts.residents) {
        const p = c.sample.people[c.random.int(c.sample.people.length)]!;
        c.tally.move(p, to, valid_from);
        const { person_id: id, dwelling_id, name, id_number, phone, birth_date } = p;
        const person = { dwelling_id, name, id_number, phone, birth_date };
        people.push({
          key: id,
          value: JSON.stringify({ op: 'upsert', id, valid_from, building_id: to, ...person }),
        });
      } else {
        const l = c.sample.sites[c.random.int(c.sample.sites.length)]!;
        c.tally.moveSite(l.industry, c.siteHome.get(l.legal_person_id) ?? l.building_id, to, valid_from);
        c.siteHome.set(l.legal_person_id, to);
        const { legal_person_id: id, industry, employees } = l;
        sites.push({
          key: id,
          value: JSON.stringify({ op: 'upsert', id, valid_from, building_id: to, industry, employees }),
        });
      }
    }
    const topic = (feed: keyof typeof BASE_TOPICS) => `${c.topicPrefix}${BASE_TOPICS[feed]}`;
    if (people.length > 0) await c.producer.send({ topic: topic('population'), messages: people });
    if (sites.length > 0) await c.producer.send({ topic: topic('legal_persons'), messages: sites });
  }
  return total;
}

/** Every generated legal person, one JSON line each, as they stream past the load (the copy's source). */
export class SiteFile {
  readonly path: string;
  readonly #out: WriteStream;

  constructor(path: string) {
    this.path = path;
    this.#out = createWriteStream(path);
  }

  async write(rows: readonly LegalPersonRow[]): Promise<void> {
    if (!this.#out.write(`${rows.map((l) => JSON.stringify(l)).join('\n')}\n`))
      await once(this.#out, 'drain');
  }

  async close(): Promise<void> {
    this.#out.end();
    await once(this.#out, 'finish');
  }
}

/**
 * Writes the batch copy of the legal persons as they stand after the feed, except that one in `rate`
 * is dropped, one in `rate` has moved, and `added` new ones sit at sample buildings, all as of `asOf`;
 * the tally follows each. Returns what it did, which the reconciliation must report.
 */
export async function writeCopy(
  c: ChangeContext,
  from: SiteFile,
  copyPath: string,
  options: { rate: number; added: number; asOf: number },
): Promise<{ records: number; dropped: number; moved: number; added: number }> {
  const out = createWriteStream(copyPath);
  const put = async (record: object) => {
    if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
  };
  const did = { records: 0, dropped: 0, moved: 0, added: 0 };
  const anywhere = () => c.sample.buildings[c.random.int(c.sample.buildings.length)]!.building_id;
  for await (const line of createInterface({ input: createReadStream(from.path) })) {
    if (line === '') continue;
    const l = JSON.parse(line) as LegalPersonRow;
    const home = c.siteHome.get(l.legal_person_id) ?? l.building_id;
    const draw = c.random.next();
    if (draw < 1 / options.rate) {
      c.tally.moveSite(l.industry, home, undefined, options.asOf);
      did.dropped++;
      continue;
    }
    let building = home;
    if (draw < 2 / options.rate) {
      building = anywhere();
      c.tally.moveSite(l.industry, home, building, options.asOf);
      did.moved++;
    }
    await put({ id: l.legal_person_id, building_id: building, industry: l.industry, employees: l.employees });
    did.records++;
  }
  for (let i = 0; i < options.added; i++) {
    const industry = INDUSTRIES[c.random.int(INDUSTRIES.length)]!;
    const building = anywhere();
    c.tally.moveSite(industry, undefined, building, options.asOf);
    await put({ id: `L-copy-${i}`, building_id: building, industry, employees: 1 + c.random.int(50) });
    did.added++;
    did.records++;
  }
  out.end();
  await once(out, 'finish');
  return did;
}

/** What `city-ops base reconcile` reported, and its wall time and peak RSS. */
export interface ReconcileRun {
  readonly report: { copy: number; store: number; missing: number; extra: number; differs: number };
  readonly seconds: number;
  readonly peakRssMiB: number;
}

/** Runs `city-ops base reconcile` on the copy (under /usr/bin/time), which sends the changes to the feed. */
export function reconcileWithCli(env: Record<string, string>, copyPath: string, asOf: number): ReconcileRun {
  const started = performance.now();
  const child = spawnSync(
    '/usr/bin/time',
    [
      '-v',
      process.execPath,
      join(PROJECT_ROOT, 'bin', 'city-ops.mjs'),
      'base',
      'reconcile',
      '--library',
      'legal_persons',
      '--as-of',
      String(asOf),
      copyPath,
    ],
    { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 },
  );
  const seconds = (performance.now() - started) / 1000;
  if (child.status !== 0)
    throw new Error(`base reconcile failed (${child.status}): ${child.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(child.stderr);
  const { copy, store, missing, extra, differs } = JSON.parse(child.stdout) as ReconcileRun['report'];
  return {
    report: { copy, store, missing, extra, differs },
    seconds: Math.round(seconds * 10) / 10,
    peakRssMiB: rss ? Math.round(Number(rss[1]) / 1024) : Number.NaN,
  };
}
