import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/environment.ts';
import { parseYamlConfig } from '../config/yamlConfig.ts';
import { CityOpsError } from '../errors.ts';
import { type Catalogue, CatalogueSchema } from './catalogueSchema.ts';

/** The city's catalogue as shipped. */
export const DEFAULT_CATALOGUE = join(PROJECT_ROOT, 'config', 'catalogue.yaml');

export interface LoadedCatalogue {
  readonly catalogue: Catalogue;
  /** sha256 of the file's text: a reload that changed nothing is told apart by it. */
  readonly digest: string;
  readonly path: string;
}

/** Reads and validates a catalogue file; every problem at once, with `file:line:column` (CONFIG_INVALID). */
export async function loadCatalogue(path = DEFAULT_CATALOGUE): Promise<LoadedCatalogue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CityOpsError('CONFIG_INVALID', `cannot read the catalogue ${path}`, {
      cause,
      hint: 'pass an existing file with --file (config/catalogue.yaml is the city’s)',
    });
  }
  return parseCatalogue(text, path);
}

/** Like `loadCatalogue`, from the file's text; `path` only names the file in messages. */
export function parseCatalogue(text: string, path = '<catalogue>'): LoadedCatalogue {
  const parsed = parseYamlConfig(text, path, CatalogueSchema);
  if (!parsed.ok) {
    const { problems } = parsed;
    throw new CityOpsError(
      'CONFIG_INVALID',
      `invalid catalogue ${path} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`,
      { hint: 'fix the fields named above; docs/catalogue.md describes every field of the file' },
    );
  }
  return { catalogue: parsed.data, digest: createHash('sha256').update(text).digest('hex'), path };
}
