import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Environment } from '../config/environment.ts';
import { PROJECT_ROOT } from '../config/environment.ts';
import { BASE_TOPICS, INTERNAL_TOPICS, STREAM_TOPICS } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import { KAFKA_PRINCIPALS, type KafkaPrincipal, readCredentials } from './credentials.ts';
import { findProgram } from './prerequisites.ts';

type Operation = 'READ' | 'WRITE' | 'DESCRIBE';
const READS: Operation[] = ['READ', 'DESCRIBE'];
const WRITES: Operation[] = ['WRITE', 'DESCRIBE'];
const BOTH: Operation[] = ['READ', 'WRITE', 'DESCRIBE'];

/**
 * Who may do what on each topic of ours (by its name without the deployment's prefix). `admin` is the super
 * user and is not listed. Only the alert service writes the outbox `city.alerts`, which the dispatcher signs
 * with the departments' secrets; only publishers write the input streams; the engine reads those and writes
 * the dead letters and live aggregates, and reads the base libraries' feeds (and writes a reconciled batch
 * copy's differences to them); the map server only reads.
 */
export const TOPIC_ACCESS: Readonly<Record<string, Partial<Record<KafkaPrincipal, Operation[]>>>> = {
  [STREAM_TOPICS.transport]: { publisher: WRITES, engine: READS },
  [STREAM_TOPICS.events]: { publisher: WRITES, engine: READS },
  [STREAM_TOPICS.population]: { publisher: WRITES, engine: READS },
  [BASE_TOPICS.buildings]: { publisher: WRITES, engine: BOTH },
  [BASE_TOPICS.dwellings]: { publisher: WRITES, engine: BOTH },
  [BASE_TOPICS.legal_persons]: { publisher: WRITES, engine: BOTH },
  [BASE_TOPICS.population]: { publisher: WRITES, engine: BOTH },
  [INTERNAL_TOPICS.deadLetters]: { engine: WRITES },
  [INTERNAL_TOPICS.aggregates]: { engine: WRITES, map: READS, alerts: READS },
  [INTERNAL_TOPICS.alerts]: { alerts: BOTH, map: READS },
  [INTERNAL_TOPICS.alertAcks]: { alerts: BOTH },
  [INTERNAL_TOPICS.alertDeadLetters]: { alerts: BOTH },
  [INTERNAL_TOPICS.alertEvaluatorState]: { alerts: BOTH },
  [INTERNAL_TOPICS.caseEvents]: { alerts: BOTH, map: READS },
  [INTERNAL_TOPICS.caseActions]: { map: WRITES, alerts: READS },
};

/**
 * Consumer groups: services name theirs per instance (the map server's and the readers' carry a pid), so
 * every principal but the publisher may use any group. A group gives no access to a topic by itself.
 */
const GROUP_OPERATIONS = ['READ', 'DESCRIBE', 'DELETE'] as const;

/** The spec lines of KafkaAccess.java granting each principal its rights on `topics` (any prefix). */
export function topicGrants(topics: readonly string[]): string[] {
  const lines: string[] = [];
  for (const topic of topics) {
    const base = Object.keys(TOPIC_ACCESS).find((name) => topic.endsWith(name));
    if (base === undefined) continue;
    for (const [principal, operations] of Object.entries(TOPIC_ACCESS[base]!)) {
      for (const operation of operations ?? [])
        lines.push(`acl\tUser:${principal}\tTOPIC\tLITERAL\t${topic}\t${operation}`);
    }
  }
  return lines;
}

/**
 * The spec lines of one publishing department's user: it may write and describe the given input stream
 * topics (with the deployment's prefix), nothing else.
 */
export function publisherGrants(name: string, password: string, topics: readonly string[]): string[] {
  const lines = [`user\t${name}\t${password}`];
  for (const topic of topics)
    for (const operation of WRITES) lines.push(`acl\tUser:${name}\tTOPIC\tLITERAL\t${topic}\t${operation}`);
  return lines;
}

/** The spec lines of the users (SCRAM-SHA-512) and their group rights. */
export function userGrants(passwords: Readonly<Record<KafkaPrincipal, string>>): string[] {
  const lines: string[] = [];
  for (const principal of KAFKA_PRINCIPALS) {
    if (principal === 'admin') continue; // created with the storage, the broker's own login
    lines.push(`user\t${principal}\t${passwords[principal]}`);
    if (principal === 'publisher') continue;
    for (const operation of GROUP_OPERATIONS)
      lines.push(`acl\tUser:${principal}\tGROUP\tLITERAL\t*\t${operation}`);
  }
  return lines;
}

/**
 * Applies spec lines to the local stack's broker through Kafka's own AdminClient (KafkaAccess.java, run by
 * the JVM of the stack: the JavaScript client has no ACL API). A no-op unless this process talks to the local
 * stack as its admin. Takes about 3 s (a JVM start).
 */
export function applyKafkaAccess(env: Environment, lines: readonly string[]): void {
  const stored = readCredentials(env.CITY_OPS_STACK_DIR);
  if (!stored || lines.length === 0 || env.KAFKA_SASL_USERNAME !== 'admin') return;
  const java = findProgram('java');
  if (!java) throw new CityOpsError('PREREQUISITE_MISSING', 'java is needed to set Kafka access rights');
  const dir = mkdtempSync(join(tmpdir(), 'city-ops-access-'));
  const spec = join(dir, 'spec.tsv');
  try {
    writeFileSync(spec, `${lines.join('\n')}\n`, { mode: 0o600 });
    const result = spawnSync(
      java,
      [
        '-Xmx128m',
        '-cp',
        `${join(env.CITY_OPS_STACK_DIR, 'kafka', 'libs')}/*`,
        join(PROJECT_ROOT, 'engine', 'stack', 'kafka', 'KafkaAccess.java'),
        env.KAFKA_BROKERS,
        'admin',
        stored.kafka.admin,
        spec,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (result.status !== 0) {
      throw new CityOpsError(
        'SERVICE_UNAVAILABLE',
        `setting Kafka access rights failed: ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').at(-1)}`,
        {
          hint: 'is the broker up? `city-ops stack status` tells',
        },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
