/**
 * bench:catalogue: a catalogue at the seed's scale (71 departments, 4,308 resource classes, 129,700 data
 * items, generated: engine/catalogue/generateCatalogue.ts) is written to a file, then loaded and validated
 * as `city-ops catalogue --check` does, each run in a fresh Node process so every run starts cold. The goal
 * (issue 16) is ≤ 2 s.
 *
 *   npm run bench:catalogue                 # 5 runs
 *   npm run bench:catalogue -- --runs 10
 *
 * Writes bench/results/catalogue.json (the command, the machine, every run).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCatalogueYaml, SEED_SCALE } from '../engine/catalogue/generateCatalogue.ts';
import { PROJECT_ROOT } from '../engine/config/environment.ts';
import { machineFacts } from './benchStack.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const say = (line: string) => process.stderr.write(`[bench:catalogue] ${line}\n`);

/** One cold load and validation in its own process; prints its milliseconds. */
const CHILD = `
const { loadCatalogue } = await import(${JSON.stringify(join(PROJECT_ROOT, 'engine/catalogue/loadCatalogue.ts'))});
const started = performance.now();
const { catalogue } = await loadCatalogue(process.argv[1]);
const ms = performance.now() - started;
const items = catalogue.resources.reduce((n, r) => n + r.items.length, 0);
process.stdout.write(JSON.stringify({ ms, classes: catalogue.resources.length, items }));
`;

const dir = mkdtempSync(join(tmpdir(), 'city-ops-catalogue-'));
try {
  const file = join(dir, 'catalogue.yaml');
  const text = generateCatalogueYaml();
  writeFileSync(file, text);
  say(
    `generated ${SEED_SCALE.classes} classes, ${SEED_SCALE.items} items: ${(text.length / 2 ** 20).toFixed(1)} MiB`,
  );
  const measured: Array<{ ms: number; classes: number; items: number }> = [];
  for (let i = 1; i <= runs; i++) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, file], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`run ${i} failed: ${child.stderr}`);
    const run = JSON.parse(child.stdout) as { ms: number; classes: number; items: number };
    measured.push(run);
    say(`run ${i}/${runs}: loaded and validated in ${Math.round(run.ms)} ms`);
  }
  const sorted = measured.map((r) => r.ms).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const result = {
    command: `npm run bench:catalogue${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: machineFacts(),
    what: 'loadCatalogue (read, parse with js-yaml, validate with zod) of a generated catalogue at the seed’s scale, each run in a fresh process',
    scale: { ...SEED_SCALE, bytes: text.length },
    goal: { seconds: 2, reached: median <= 2_000 },
    medianMs: Math.round(median),
    runsMs: measured.map((r) => Math.round(r.ms)),
    counted: { classes: measured[0]!.classes, items: measured[0]!.items },
  };
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(PROJECT_ROOT, 'bench', 'results', 'catalogue.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  say(
    `median ${result.medianMs} ms over ${runs} runs (goal ≤ 2000 ms: ${result.goal.reached ? 'met' : 'not met'})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
