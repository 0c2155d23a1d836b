import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { sha256, xmlEscape } from '../stack/clickhouseService.ts';
import { checkDepartmentNames, departmentDatabase } from './departmentDatabases.ts';

/**
 * The departments' ClickHouse users on the local stack: `dept_<department>`, read-only, allowed only
 * their own database. ClickHouse 18.16 has no SQL access control; it reads users from users.xml and the
 * files of `users.d/` beside it, and picks a changed file up by itself within seconds.
 */
const PasswordsFile = z.strictObject({
  version: z.literal(1),
  users: z.array(z.strictObject({ department: z.string(), user: z.string(), password: z.string().min(16) })),
});
export type DepartmentUser = z.infer<typeof PasswordsFile>['users'][number];

export const departmentUser = (department: string) => `dept_${department.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** The passwords of the stack's department users (mode 0600), and the users file ClickHouse reads. */
export function departmentUsersPaths(stackDir: string): { passwords: string; usersXml: string } {
  return {
    passwords: join(stackDir, 'department-clickhouse.json'),
    usersXml: join(stackDir, 'clickhouse', 'users.d', 'departments.xml'),
  };
}

/** users.d/departments.xml for these users: each read-only (the analyst profile), its database only. */
export function renderDepartmentUsers(users: readonly DepartmentUser[]): string {
  const entries = users.map(
    (u) => `    <${u.user}>
      <password_sha256_hex>${sha256(u.password)}</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>analyst</profile>
      <quota>default</quota>
      <allow_databases><database>${xmlEscape(departmentDatabase(u.department))}</database></allow_databases>
    </${u.user}>`,
  );
  return `<?xml version="1.0"?>\n<!-- Written by city-ops access databases; edits are overwritten. -->\n<yandex>\n  <users>\n${entries.join('\n')}\n  </users>\n</yandex>\n`;
}

/**
 * Makes a user for every department of the catalogue that has none (a random password), keeps the
 * others, and writes both files. Returns the users.
 */
export async function writeDepartmentUsers(
  stackDir: string,
  catalogue: Catalogue,
): Promise<DepartmentUser[]> {
  checkDepartmentNames(catalogue.departments);
  const paths = departmentUsersPaths(stackDir);
  const known = existsSync(paths.passwords)
    ? PasswordsFile.parse(JSON.parse(readFileSync(paths.passwords, 'utf8'))).users
    : [];
  const users = catalogue.departments.map(
    (d) =>
      known.find((u) => u.department === d.id) ?? {
        department: d.id,
        user: departmentUser(d.id),
        password: randomBytes(18).toString('base64url'),
      },
  );
  const write = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.tmp`, text, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  };
  await write(paths.passwords, `${JSON.stringify({ version: 1, users }, null, 2)}\n`);
  await write(paths.usersXml, renderDepartmentUsers(users));
  return users;
}
