import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { diffCatalogues } from '../../catalogue/catalogueDiff.ts';
import { DEFAULT_CATALOGUE, loadCatalogue } from '../../catalogue/loadCatalogue.ts';
import { deniedItems, exitItems } from '../../catalogue/negativeList.ts';
import { CityOpsError } from '../../errors.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops catalogue (--check | list | diff <other>) [--file <catalogue.yaml>]

The exchange's catalogue (docs/catalogue.md): departments, resource classes with their data items, how
each class is shared (unconditional, conditional, none) and the negative list.

  --check          validate the file; print a summary; exit 0 when valid, 2 with every problem otherwise
  list             one line per class: id, sharing, provider, items that may leave / items, denied items
  diff <other>     what changes from --file to <other>, a line each (+ added, - removed, ~ changed)
  --file <path>    the catalogue (default config/catalogue.yaml)`;

export const command: Command = {
  summary: 'Check, list or compare the exchange catalogue (resource classes, sharing, negative list).',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { check: { type: 'boolean', default: false }, file: { type: 'string' } },
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
    throw new CityOpsError(
      'CLI_USAGE',
      `unknown catalogue action '${[action, other].filter(Boolean).join(' ')}'`,
      {
        hint: USAGE,
      },
    );
  },
};
