import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { CityOpsError } from '../errors.ts';

/**
 * The departments' access tokens (map WebSocket and history API). The file keeps only each token's
 * SHA-256, so it can be read by the map server and backed up without handing out a credential; the token
 * itself is printed once, when it is issued.
 */
const TokensFile = z.strictObject({
  version: z.literal(1),
  tokens: z.array(
    z.strictObject({
      department: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      issued_at: z.iso.datetime({ offset: true }),
    }),
  ),
});
export type DepartmentTokenEntry = z.infer<typeof TokensFile>['tokens'][number];

/** Where a deployment keeps the tokens' digests by default: beside the local stack's credentials. */
export function defaultTokensPath(stackDir: string): string {
  return join(stackDir, 'department-tokens.json');
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** Reads the digests; a missing file is no department tokens. CONFIG_INVALID names what is wrong. */
export function readDepartmentTokens(path: string): DepartmentTokenEntry[] {
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CityOpsError('CONFIG_INVALID', `the department tokens file ${path} is not JSON`, {
      cause,
      hint: 'issue tokens with `city-ops access token <department>`; it writes the file',
    });
  }
  const result = TokensFile.safeParse(parsed);
  if (!result.success)
    throw new CityOpsError(
      'CONFIG_INVALID',
      `invalid department tokens file ${path}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { hint: 'issue tokens with `city-ops access token <department>`; it writes the file' },
    );
  return result.data.tokens;
}

/** Which department a presented token belongs to (by its digest), or undefined. */
export function departmentOfToken(
  entries: readonly DepartmentTokenEntry[],
  token: string | undefined,
): string | undefined {
  if (token === undefined) return undefined;
  const wanted = digest(token);
  return entries.find((e) => e.sha256 === wanted)?.department;
}

/**
 * Issues a new token for a department of the catalogue: replaces the department's earlier token in the
 * file (written whole, then renamed, mode 0600) and returns the token, which is not kept anywhere.
 */
export async function issueDepartmentToken(
  path: string,
  catalogue: Catalogue,
  department: string,
): Promise<string> {
  if (!catalogue.departments.some((d) => d.id === department))
    throw new CityOpsError('CLI_USAGE', `department '${department}' is not in the catalogue`, {
      hint: `departments: ${catalogue.departments.map((d) => d.id).join(', ')}`,
    });
  const token = randomBytes(18).toString('base64url');
  const others = existsSync(path)
    ? readDepartmentTokens(path).filter((e) => e.department !== department)
    : [];
  const file = {
    version: 1,
    tokens: [...others, { department, sha256: digest(token), issued_at: new Date().toISOString() }],
  };
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
  return token;
}
