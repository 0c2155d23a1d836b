import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { CityOpsError } from '../errors.ts';

/** `maxBatchSize` -> `max-batch-size`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Reads `--kebab-case` flags for the fields of a zod object schema (the same schema that validates the
 * options, so flags, defaults and messages cannot drift apart). Values are coerced by the field's type:
 * numbers, booleans (`--flag` / `--no-flag`), strings. Unknown flags fail with CLI_USAGE.
 */
export function parseOptionFlags<S extends z.ZodObject>(
  schema: S,
  argv: readonly string[],
  extra: Record<string, { type: 'boolean' | 'string' }> = {},
): { options: Record<string, unknown>; extra: Record<string, unknown>; positionals: string[] } {
  const shape = schema.shape as Record<string, z.ZodType>;
  const flagTypes: Record<string, { type: 'boolean' | 'string' }> = { ...extra };
  const kinds = new Map<string, string>();
  for (const [name, field] of Object.entries(shape)) {
    const kind = baseKind(field);
    kinds.set(name, kind);
    flagTypes[kebab(name)] = { type: kind === 'boolean' ? 'boolean' : 'string' };
    if (kind === 'boolean') flagTypes[`no-${kebab(name)}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: flagTypes, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CityOpsError('CLI_USAGE', (error as Error).message, { hint: 'see --help for the flags' });
  }
  const options: Record<string, unknown> = {};
  for (const [name, kind] of kinds) {
    const value = parsed.values[kebab(name)];
    if (kind === 'boolean' && parsed.values[`no-${kebab(name)}`]) options[name] = false;
    if (value === undefined) continue;
    if (kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n))
        throw new CityOpsError(
          'CLI_USAGE',
          `--${kebab(name)} must be a number, got ${JSON.stringify(value)}`,
        );
      options[name] = n;
    } else {
      options[name] = value;
    }
  }
  const extraValues = Object.fromEntries(Object.keys(extra).map((k) => [k, parsed.values[k]]));
  return { options, extra: extraValues, positionals: parsed.positionals };
}

function baseKind(field: z.ZodType): string {
  let current: z.ZodType = field;
  // Unwrap defaults and optionals to the base type.
  for (let i = 0; i < 5; i++) {
    const def = (current as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === 'default' || def.type === 'optional') && def.innerType) current = def.innerType;
    else return def.type;
  }
  return 'string';
}

/** Help lines for the flags of a schema: `--grace-ms <number>  (default 5000)`. */
export function describeFlags(schema: z.ZodObject): string {
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.entries(shape)
    .map(([name, field]) => {
      const kind = baseKind(field);
      const def = (field as unknown as { def: { defaultValue?: unknown } }).def.defaultValue;
      const shown = typeof def === 'function' ? (def as () => unknown)() : def;
      return `  --${kebab(name)}${kind === 'boolean' ? '' : ` <${kind}>`}${shown === undefined ? '' : `  (default ${JSON.stringify(shown)})`}`;
    })
    .join('\n');
}
