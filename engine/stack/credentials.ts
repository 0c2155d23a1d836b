import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The Kafka principals of the local stack: one per service, each given only the topics it needs
 * (engine/stack/kafkaAccess.ts); `admin` (the stack itself, migrations, tests, benchmarks) is the super user.
 */
export const KAFKA_PRINCIPALS = ['admin', 'engine', 'map', 'alerts', 'publisher'] as const;
export type KafkaPrincipal = (typeof KAFKA_PRINCIPALS)[number];

const Secret = z.string().min(16);
const StackCredentialsSchema = z.object({
  clickhouse: z.object({ engine: Secret, analyst: Secret }),
  kafka: z.object(
    Object.fromEntries(KAFKA_PRINCIPALS.map((p) => [p, Secret])) as Record<KafkaPrincipal, typeof Secret>,
  ),
  /** Publishing departments added with `city-ops stack publisher <name>`, each a Kafka user of its own. */
  publishers: z.record(z.string(), Secret).default({}),
});
export type StackCredentials = z.infer<typeof StackCredentialsSchema>;

/** Where the local stack keeps its generated passwords (mode 0600). */
export function credentialsFile(stackDir: string): string {
  return join(stackDir, 'credentials.json');
}

const cache = new Map<string, StackCredentials | undefined>();

/** The local stack's passwords, or undefined before the first `city-ops stack up` (or for another stack). */
export function readCredentials(stackDir: string): StackCredentials | undefined {
  const file = credentialsFile(stackDir);
  if (cache.has(file)) return cache.get(file);
  let found: StackCredentials | undefined;
  if (existsSync(file)) {
    const parsed = StackCredentialsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${file} is not a city-ops credentials file (${parsed.error.issues[0]?.message}); remove it and run city-ops stack up again`,
      );
    found = parsed.data;
  }
  if (found) cache.set(file, found);
  return found;
}

/**
 * Generates the local stack's passwords at its first start (24 random bytes each) and writes them, readable
 * by their owner only; prints them once. Later calls return what the file holds.
 */
export function ensureCredentials(
  stackDir: string,
  log: (line: string) => void,
): { credentials: StackCredentials; created: boolean } {
  const existing = readCredentials(stackDir);
  if (existing) return { credentials: existing, created: false };
  const credentials: StackCredentials = {
    clickhouse: { engine: newSecret(), analyst: newSecret() },
    kafka: Object.fromEntries(KAFKA_PRINCIPALS.map((p) => [p, newSecret()])) as Record<
      KafkaPrincipal,
      string
    >,
    publishers: {},
  };
  writeCredentials(stackDir, credentials);
  log(`credentials: generated for this stack in ${credentialsFile(stackDir)} (mode 0600), shown this once:`);
  log(`  ClickHouse engine ${credentials.clickhouse.engine}, analyst ${credentials.clickhouse.analyst}`);
  log(`  Kafka (SCRAM-SHA-512) ${KAFKA_PRINCIPALS.map((p) => `${p} ${credentials.kafka[p]}`).join(', ')}`);
  return { credentials, created: true };
}

/** 24 random bytes, URL-safe. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Writes the credentials file (mode 0600) and keeps it as the process's current one. */
export function writeCredentials(stackDir: string, credentials: StackCredentials): void {
  mkdirSync(stackDir, { recursive: true });
  const file = credentialsFile(stackDir);
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  cache.set(file, credentials);
}
