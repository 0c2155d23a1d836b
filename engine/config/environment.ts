import { existsSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CityOpsError } from '../errors.ts';
import { KAFKA_PRINCIPALS, readCredentials } from '../stack/credentials.ts';

/** The project's root folder (where package.json is), whatever the current directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const port = z.coerce.number().int().min(1).max(65_535);

/**
 * Environment variables city-ops reads. Every one has a default that points at the local stack that
 * `city-ops stack up` starts; set them to use an existing Kafka and ClickHouse instead.
 */
const EnvironmentSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .default('127.0.0.1:9092')
    .describe('comma-separated host:port list of Kafka bootstrap brokers'),
  KAFKA_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(6)
    .describe('partitions of each topic that city-ops creates'),
  CITY_OPS_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('')
    .describe('prefix of every topic name, to share a cluster between deployments or test runs'),
  CLICKHOUSE_URL: z.url().default('http://127.0.0.1:8123').describe('ClickHouse HTTP endpoint'),
  CLICKHOUSE_USER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('engine')
    .describe("the engine's ClickHouse user"),
  CLICKHOUSE_PASSWORD: z
    .string()
    .optional()
    .describe("the engine's ClickHouse password (default: the local stack's, from .stack/credentials.json)"),
  CLICKHOUSE_ANALYST_USER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('analyst')
    .describe('the read-only analyst user'),
  CLICKHOUSE_ANALYST_PASSWORD: z
    .string()
    .optional()
    .describe("the analyst's password (default: the local stack's, from .stack/credentials.json)"),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('city'),
  CLICKHOUSE_RESTRICTED_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('city_restricted')
    .describe('database of personal data; the analyst user has no access to it'),
  KAFKA_SASL_USERNAME: z
    .string()
    .optional()
    .describe("SCRAM-SHA-512 user for Kafka (default: the local stack's user of this process's principal)"),
  KAFKA_SASL_PASSWORD: z.string().optional().describe('its password'),
  CITY_OPS_KAFKA_PRINCIPAL: z
    .enum(KAFKA_PRINCIPALS)
    .default('admin')
    .describe('which local-stack Kafka user this process is: each city-ops command sets its own'),
  // Its real path: the stack's processes are recognized by the paths on their command lines, so a
  // checkout whose .stack is a link to another's must name them the same way.
  CITY_OPS_STACK_DIR: z
    .string()
    .min(1)
    .default(resolve(PROJECT_ROOT, '.stack'))
    .transform((dir) => (existsSync(dir) ? realpathSync(dir) : dir)),
  STACK_KAFKA_PORT: port.default(9092),
  STACK_KAFKA_CONTROLLER_PORT: port.default(9093),
  STACK_KAFKA_HEAP: z
    .string()
    .regex(/^\d+[mg]$/)
    .default('512m'),
  STACK_CLICKHOUSE_HTTP_PORT: port.default(8123),
  STACK_CLICKHOUSE_TCP_PORT: port.default(9000),
});

/** The environment, its passwords filled in (from the variables, else from the local stack's credentials). */
export type Environment = Readonly<
  Omit<z.infer<typeof EnvironmentSchema>, 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_ANALYST_PASSWORD'> & {
    CLICKHOUSE_PASSWORD: string;
    CLICKHOUSE_ANALYST_PASSWORD: string;
  }
>;

/**
 * Reads and validates the environment once. An invalid value fails with CONFIG_INVALID naming the variable.
 *
 * @example
 * const env = loadEnvironment(); // env.KAFKA_BROKERS === '127.0.0.1:9092' unless set
 */
export function loadEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const parsed = EnvironmentSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new CityOpsError('CONFIG_INVALID', `invalid environment: ${problems.join('; ')}`, {
      hint: 'fix or unset the variables named above (README, "Configuration" lists them all)',
    });
  }
  return Object.freeze(withStackCredentials(parsed.data));
}

/**
 * Fills the passwords the variables leave unset from the local stack's credentials file, written at its
 * first `city-ops stack up` (no passwords are built in). Kafka: the SCRAM user of this process's principal;
 * without a credentials file and without KAFKA_SASL_* the client connects without authentication.
 */
function withStackCredentials(env: z.infer<typeof EnvironmentSchema>): Environment {
  const stored = readCredentials(env.CITY_OPS_STACK_DIR);
  const principal = env.CITY_OPS_KAFKA_PRINCIPAL;
  const sasl =
    env.KAFKA_SASL_USERNAME !== undefined
      ? { KAFKA_SASL_USERNAME: env.KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: env.KAFKA_SASL_PASSWORD ?? '' }
      : stored
        ? { KAFKA_SASL_USERNAME: principal, KAFKA_SASL_PASSWORD: stored.kafka[principal] }
        : {};
  return {
    ...env,
    ...sasl,
    CLICKHOUSE_PASSWORD: env.CLICKHOUSE_PASSWORD ?? stored?.clickhouse.engine ?? '',
    CLICKHOUSE_ANALYST_PASSWORD: env.CLICKHOUSE_ANALYST_PASSWORD ?? stored?.clickhouse.analyst ?? '',
  };
}

/** `KAFKA_BROKERS` as a list. */
export function kafkaBrokers(env: Environment): string[] {
  return env.KAFKA_BROKERS.split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
}

/** The variables with their descriptions and defaults, for `--help` and the README. */
export function describeEnvironment(): Array<{ name: string; description: string }> {
  return Object.entries(EnvironmentSchema.shape).map(([name, schema]) => ({
    name,
    description: schema.description ?? '',
  }));
}
