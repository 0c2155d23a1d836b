import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { diffCatalogues } from '../../catalogue/catalogueDiff.ts';
import { DEFAULT_CATALOGUE, loadCatalogue } from '../../catalogue/loadCatalogue.ts';
import { deniedItems, exitItems } from '../../catalogue/negativeList.ts';
import { type Grant, GrantsFileSchema, project } from '../../catalogue/projection.ts';
import { parseYamlConfig } from '../../config/yamlConfig.ts';
import { CityOpsError } from '../../errors.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops catalogue (--check | list | diff <other> | receives <department>) [options]

The exchange's catalogue (docs/catalogue.md): departments, resource classes with their data items, how
each class is shared (unconditional, conditional, none) and the negative list.

  --check          validate the file; print a summary; exit 0 when valid, 2 with every problem otherwise
  list             one line per class: id, sharing, provider, items that may leave / items, denied items
  diff <other>     what changes from --file to <other>, a line each (+ added, - removed, ~ changed)
  receives <dept>  per class, the items the department receives and why (unconditional, granted, ...)
  --file <path>    the catalogue (default config/catalogue.yaml)
  --grants <path>  grants for 'receives' (default: none; config/grants.example.yaml is an example)
  --at <iso time>  the time 'receives' judges grants at (default: now)`;

export const command: Command = {
  summary: 'Check, list or compare the exchange catalogue (resource classes, sharing, negative list).',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        check: { type: 'boolean', default: false },
        file: { type: 'string' },
        grants: { type: 'string' },
        at: { type: 'string' },
      },
    });
    const path = values.file ? resolve(values.file) : DEFAULT_CATALOGUE;
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const [action, other] = values.check ? ['check'] : positionals;
    const { catalogue } = await loadCatalogue(path);
    if (action === 'check') {
      const items = catalogue.resources.reduce((n, r) => n + r.items.length, 0);
      out(
        `catalogue ${path}: valid; ${catalogue.departments.length} departments, ${catalogue.resources.length} resource classes, ${items} items, ${catalogue.negative_list.length} deny rules`,
      );
      return 0;
    }
    if (action === 'list') {
      for (const r of catalogue.resources) {
        const denied = [...deniedItems(catalogue, r).keys()];
        out(
          `${r.id}\t${r.sharing}\t${r.provider}\t${exitItems(catalogue, r).length}/${r.items.length} items may leave${denied.length > 0 ? `\tdenied: ${denied.join(', ')}` : ''}`,
        );
      }
      return 0;
    }
    if (action === 'diff' && other !== undefined) {
      const changes = diffCatalogues(catalogue, (await loadCatalogue(resolve(other))).catalogue);
      for (const change of changes) out(change);
      if (changes.length === 0) out('no change');
      return 0;
    }
    if (action === 'receives' && other !== undefined) {
      const grants = values.grants ? await loadGrants(resolve(values.grants)) : [];
      const at = values.at === undefined ? Date.now() : Date.parse(values.at);
      if (Number.isNaN(at))
        throw new CityOpsError('CLI_USAGE', `--at ${values.at} is not a time`, { hint: USAGE });
      for (const r of catalogue.resources) {
        const p = project(catalogue, grants, other, r.id, at);
        const items = p.items.map((i) => (i.masking === 'none' ? i.id : `${i.id} (${i.masking})`));
        out(`${r.id}\t${p.reason}\t${items.join(', ')}`);
      }
      return 0;
    }
    throw new CityOpsError(
      'CLI_USAGE',
      `unknown catalogue action '${[action, other].filter(Boolean).join(' ')}'`,
      {
        hint: USAGE,
      },
    );
  },
};

async function loadGrants(path: string): Promise<readonly Grant[]> {
  const parsed = parseYamlConfig(await readFile(path, 'utf8'), path, GrantsFileSchema);
  if (!parsed.ok)
    throw new CityOpsError(
      'CONFIG_INVALID',
      `invalid grants file ${path}:\n${parsed.problems.map((p) => `  ${p}`).join('\n')}`,
      {
        hint: 'docs/catalogue.md describes a grant',
      },
    );
  return parsed.data.grants;
}
