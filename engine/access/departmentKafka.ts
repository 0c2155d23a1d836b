import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { matchesPattern } from '../catalogue/negativeList.ts';
import { project } from '../catalogue/projection.ts';
import type { AccessPolicy } from './exits.ts';

/**
 * The departments' Kafka principals on the local stack: `dept-<department>` (SCRAM-SHA-512), each allowed
 * to read the topics of the classes it receives as they are sent, and to use consumer groups named
 * `dept-<department>.*` only. The rights follow the catalogue and the grants: `city-ops access kafka`
 * re-plans them every 15 s and applies only what changed.
 */
export const departmentKafkaUser = (department: string) => `dept-${department}`;

/** The topic of each class the catalogue says is a Kafka topic (`source: topic <name>`). */
export function topicClasses(catalogue: Catalogue): Array<{ classId: string; topic: string }> {
  return catalogue.resources.flatMap((r) => {
    const match = /^topic\s+(\S+)$/.exec(r.source ?? '');
    return match ? [{ classId: r.id, topic: match[1]! }] : [];
  });
}

/**
 * Why a department may not read a class's topic, or undefined when it may. A topic carries each record as
 * its provider sent it, so nothing can be left out or masked on the way: the department must receive every
 * item of the class, unmasked. A class with a negative-list item or a masked item never goes out as a topic.
 * Nor does a class whose raw payload the negative list holds back (item `payload`): a record on a topic
 * is the payload as its provider sent it, with any field it chose to add. The shipped catalogue holds
 * every raw payload back, so there no department reads a topic (docs/access.md).
 */
export function rawTopicRefusal(
  policy: AccessPolicy,
  department: string,
  classId: string,
  now = Date.now(),
): string | undefined {
  const resource = policy.catalogue.resources.find((r) => r.id === classId);
  if (resource === undefined) return `${classId} is not in the catalogue`;
  const raw = policy.catalogue.negative_list.find(
    (rule) =>
      rule.resources.some((p) => matchesPattern(p, classId)) &&
      rule.items.some((p) => matchesPattern(p, RAW_PAYLOAD)),
  );
  if (raw !== undefined)
    return `${classId}: a topic carries each record as sent, a raw payload, which the negative list (${raw.id}) holds back`;
  const projection = project(policy.catalogue, policy.grants(), department, classId, now);
  if (projection.items.length === 0) return `${classId}: ${projection.reason}`;
  const sent = new Map(projection.items.map((i) => [i.id, i.masking]));
  const withheld = resource.items.filter((i) => !sent.has(i.id)).map((i) => i.id);
  if (withheld.length > 0)
    return `${classId}: ${withheld.join(', ')} may not go to ${department}, and a topic cannot leave them out`;
  const masked = projection.items.filter((i) => i.masking !== 'none').map((i) => i.id);
  if (masked.length > 0)
    return `${classId}: ${masked.join(', ')} must be masked, and a topic carries them as sent`;
  return undefined;
}

/** The negative list's name for a record as its provider sent it. */
const RAW_PAYLOAD = 'payload';

/** One department's rights: the topics it may read (with the deployment's prefix), and why not the others. */
export interface DepartmentKafkaRights {
  department: string;
  user: string;
  topics: string[];
  refused: Record<string, string>;
}

/** The rights of every department of the catalogue at `now`, and the ACL spec lines that give them. */
export function departmentKafkaPlan(
  policy: AccessPolicy,
  prefix: string,
  userOf: (department: string) => string = departmentKafkaUser,
  now = Date.now(),
): { rights: DepartmentKafkaRights[]; acls: string[] } {
  const classes = topicClasses(policy.catalogue);
  const rights = policy.catalogue.departments.map((d) => {
    const user = userOf(d.id);
    const right: DepartmentKafkaRights = { department: d.id, user, topics: [], refused: {} };
    for (const { classId, topic } of classes) {
      // Its groups are `<user>.*`: with a '.' in the id, one department's prefix would cover another's groups.
      if (d.id.includes('.')) {
        right.refused[`${prefix}${topic}`] = `department id ${d.id} has a '.', so it gets no Kafka user`;
        continue;
      }
      const why = rawTopicRefusal(policy, d.id, classId, now);
      if (why === undefined) right.topics.push(`${prefix}${topic}`);
      else right.refused[`${prefix}${topic}`] = why;
    }
    return right;
  });
  const acls = rights.flatMap((r) => [
    ...(r.department.includes('.')
      ? []
      : ['READ', 'DESCRIBE'].map((op) => `acl\tUser:${r.user}\tGROUP\tPREFIXED\t${r.user}.\t${op}`)),
    ...r.topics.flatMap((t) =>
      ['READ', 'DESCRIBE'].map((op) => `acl\tUser:${r.user}\tTOPIC\tLITERAL\t${t}\t${op}`),
    ),
  ]);
  return { rights, acls };
}

const StateFile = z.strictObject({
  version: z.literal(1),
  users: z.array(z.strictObject({ department: z.string(), user: z.string(), password: z.string().min(16) })),
  /** The ACL lines last applied, so that a right no longer planned is revoked, even after a restart. */
  applied: z.array(z.string()),
});
export type DepartmentKafkaState = z.infer<typeof StateFile>;

export const departmentKafkaPath = (stackDir: string) => join(stackDir, 'department-kafka.json');

export function readDepartmentKafka(path: string): DepartmentKafkaState {
  if (!existsSync(path)) return { version: 1, users: [], applied: [] };
  return StateFile.parse(JSON.parse(readFileSync(path, 'utf8')));
}

async function writeState(path: string, state: DepartmentKafkaState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // A name of its own per write: two passes (two processes) never write the same temporary file.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Keeps the broker's department users and ACLs equal to the plan. The first pass of a process applies the
 * whole plan (a broker started afresh has none of it); later passes apply only ACLs added or revoked since,
 * and nothing (no JVM start) when the plan did not change. `apply` takes spec lines (KafkaAccess.java).
 */
export class DepartmentKafka {
  #first = true;

  constructor(
    private readonly path: string,
    private readonly apply: (lines: string[]) => void,
    private readonly userOf: (department: string) => string = departmentKafkaUser,
  ) {}

  async sync(
    policy: AccessPolicy,
    prefix: string,
    now = Date.now(),
  ): Promise<{ rights: DepartmentKafkaRights[]; added: string[]; revoked: string[] }> {
    const state = readDepartmentKafka(this.path);
    const { rights, acls } = departmentKafkaPlan(policy, prefix, this.userOf, now);
    const users = rights.map(
      (r) =>
        state.users.find((u) => u.user === r.user) ?? {
          department: r.department,
          user: r.user,
          password: randomBytes(18).toString('base64url'),
        },
    );
    const newUsers = users.filter((u) => !state.users.some((k) => k.user === u.user));
    const applied = new Set(state.applied);
    const planned = new Set(acls);
    const added = this.#first ? acls : acls.filter((l) => !applied.has(l));
    const revoked = state.applied.filter((l) => !planned.has(l));
    const userLines = (this.#first ? users : newUsers).map((u) => `user\t${u.user}\t${u.password}`);
    const keep = state.users.filter((k) => !users.some((u) => u.user === k.user));
    const write = (lines: string[]) =>
      writeState(this.path, { version: 1, users: [...keep, ...users], applied: lines });
    if (userLines.length + added.length + revoked.length > 0) {
      // The intent first (all applied so far and all about to be): a crash while applying leaves a file
      // that still names every ACL the broker may hold, so the next pass can revoke what it no longer plans.
      await write([...new Set([...state.applied, ...acls])]);
      this.apply([...userLines, ...added, ...revoked.map((l) => l.replace(/^acl\t/, 'revoke\t'))]);
    }
    this.#first = false;
    await write(acls);
    return { rights, added, revoked };
  }
}
