import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from '../config/environment.ts';
import { CityOpsError } from '../errors.ts';
import { readCredentials } from './credentials.ts';
import { ManagedProcess } from './managedProcess.ts';
import { describeListener, isListening } from './ports.ts';
import { findProgram } from './prerequisites.ts';
import type { ServiceStatus, StackService } from './stackService.ts';

const HOST = '127.0.0.1';

/**
 * The local ClickHouse server: Debian's `clickhouse-server` started with a config of ours that listens on
 * 127.0.0.1 only and keeps data and logs under `<stack dir>/clickhouse/`.
 *
 * Users (users.xml; ClickHouse 18.16 has no SQL access control):
 * - the engine's user (`CLICKHOUSE_USER`), full access;
 * - the analyst (`CLICKHOUSE_ANALYST_USER`): read-only profile, only the `city` database, so the personal
 *   data kept in `city_restricted` is out of reach.
 */
export class ClickHouseService implements StackService {
  readonly name = 'clickhouse';
  private readonly dir: string;
  private readonly process: ManagedProcess;

  constructor(private readonly env: Environment) {
    this.dir = join(env.CITY_OPS_STACK_DIR, 'clickhouse');
    this.process = new ManagedProcess('clickhouse', join(this.dir, 'clickhouse.pid'), this.configFile);
  }

  private get configFile(): string {
    return join(this.env.CITY_OPS_STACK_DIR, 'clickhouse', 'config.xml');
  }

  get endpoint(): string {
    return `http://${HOST}:${this.env.STACK_CLICKHOUSE_HTTP_PORT}`;
  }

  get logFile(): string {
    return join(this.dir, 'log', 'server.log');
  }

  async status(): Promise<ServiceStatus> {
    const pid = this.process.runningPid();
    const healthy = await this.ping();
    const version = healthy ? await this.version() : undefined;
    return {
      name: this.name,
      ours: pid !== undefined,
      pid,
      healthy,
      version,
      listen: this.endpoint,
      detail: healthy ? undefined : pid ? 'process running but /ping does not answer yet' : 'not running',
    };
  }

  async start(log: (line: string) => void): Promise<void> {
    const server = findProgram('clickhouse-server');
    if (!server) throw new CityOpsError('PREREQUISITE_MISSING', 'clickhouse-server is not installed');
    for (const port of [this.env.STACK_CLICKHOUSE_HTTP_PORT, this.env.STACK_CLICKHOUSE_TCP_PORT]) {
      if (await isListening(HOST, port)) {
        throw new CityOpsError(
          'PORT_IN_USE',
          `${HOST}:${port} (ClickHouse) is taken by ${describeListener(port)}`,
          {
            hint: 'stop that process, or set STACK_CLICKHOUSE_HTTP_PORT / STACK_CLICKHOUSE_TCP_PORT to free ports',
          },
        );
      }
    }
    this.writeConfig();
    log(`clickhouse: starting ${server} (log ${this.logFile})`);
    this.process.start(server, [`--config-file=${this.configFile}`], join(this.dir, 'log', 'stdout.log'));
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      if (await this.ping()) return;
      if (this.process.runningPid() === undefined) break;
      await sleep(200);
    }
    throw new CityOpsError('SERVICE_START_FAILED', `ClickHouse did not answer ${this.endpoint}/ping`, {
      hint: `read ${join(this.dir, 'log', 'server.err.log')} and ${join(this.dir, 'log', 'stdout.log')}`,
    });
  }

  /** Stops the server: SIGTERM, then SIGKILL after `graceMs` (0 kills it at once, as a crash would). */
  stop(graceMs = 30_000): Promise<boolean> {
    return this.process.stop(graceMs);
  }

  private async ping(): Promise<boolean> {
    try {
      const response = await fetch(`${this.endpoint}/ping`, { signal: AbortSignal.timeout(1_000) });
      return response.ok && (await response.text()).startsWith('Ok');
    } catch {
      return false;
    }
  }

  private async version(): Promise<string | undefined> {
    try {
      const response = await fetch(`${this.endpoint}/?query=SELECT%20version()`, {
        headers: {
          'X-ClickHouse-User': this.env.CLICKHOUSE_USER,
          'X-ClickHouse-Key': this.env.CLICKHOUSE_PASSWORD,
        },
        signal: AbortSignal.timeout(2_000),
      });
      return response.ok ? (await response.text()).trim() : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Writes users.xml again when it lacks the stack's passwords (a stack of an earlier version, with built-in
   * ones): a running server reloads it by itself within seconds. Only then: an `up` from a process with
   * another CLICKHOUSE_DATABASE (a test's) must not move the analyst of a running stack to that database.
   */
  refreshUsers(log: (line: string) => void): void {
    const file = join(this.dir, 'users.xml');
    if (!existsSync(file)) return;
    const current = readFileSync(file, 'utf8');
    const hashes = [this.env.CLICKHOUSE_PASSWORD, this.env.CLICKHOUSE_ANALYST_PASSWORD].map(sha256);
    if (hashes.every((hash) => current.includes(hash))) return;
    writeFileSync(file, renderUsersConfig(this.env), { mode: 0o600 });
    log("clickhouse: users.xml rewritten with the stack's generated passwords (the server reloads it)");
  }

  private writeConfig(): void {
    for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) {
      mkdirSync(join(this.dir, sub), { recursive: true });
    }
    writeFileSync(this.configFile, renderServerConfig(this.dir, this.env));
    writeFileSync(join(this.dir, 'users.xml'), renderUsersConfig(this.env), { mode: 0o600 });
  }
}

export function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The server config: loopback only, our folders, UTC, modest caches for a 2-core machine. */
export function renderServerConfig(dir: string, env: Environment): string {
  const d = xmlEscape(dir);
  return `<?xml version="1.0"?>
<!-- Written by city-ops stack up; edits are overwritten. -->
<yandex>
  <logger>
    <level>information</level>
    <log>${d}/log/server.log</log>
    <errorlog>${d}/log/server.err.log</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>
  <listen_host>${HOST}</listen_host>
  <http_port>${env.STACK_CLICKHOUSE_HTTP_PORT}</http_port>
  <tcp_port>${env.STACK_CLICKHOUSE_TCP_PORT}</tcp_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <mark_cache_size>536870912</mark_cache_size>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>${d}/users.xml</users_config>
  <!-- The server's own profile, which ClickHouse's Kafka tables read with (bench:peers); users have theirs. -->
  <default_profile>kafka_tables</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <!-- Where queries are logged when a profile or a query sets log_queries = 1 (off by default):
       system.query_log, to find what a query costs (read_rows, read_bytes, memory_usage). -->
${kafkaTablesConfig(env)}
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <partition_by>toYYYYMM(event_date)</partition_by>
    <flush_interval_milliseconds>7500</flush_interval_milliseconds>
  </query_log>
</yandex>
`;
}

/**
 * librdkafka's settings for ClickHouse's own Kafka table engine, which city-ops does not use: bench:peers
 * runs it as a peer. ClickHouse 18.16's Kafka tables take no credentials in their SQL, only from here; it
 * reads as the engine's Kafka principal (the input streams, read-only), with PLAIN (why: see
 * renderServerProperties in kafkaService.ts), and from the start of a new group's partitions, so that it
 * can consume what was published before its tables existed.
 */
function kafkaTablesConfig(env: Environment): string {
  const password = readCredentials(env.CITY_OPS_STACK_DIR)?.kafka.engine;
  if (password === undefined) return '';
  return `  <kafka>
    <security_protocol>sasl_plaintext</security_protocol>
    <sasl_mechanisms>PLAIN</sasl_mechanisms>
    <sasl_username>engine</sasl_username>
    <sasl_password>${xmlEscape(password)}</sasl_password>
    <auto_offset_reset>earliest</auto_offset_reset>
  </kafka>`;
}

/** users.xml: the engine's user (full access) and the analyst (read-only, `city` database only). */
export function renderUsersConfig(env: Environment): string {
  const loopback = '<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>';
  return `<?xml version="1.0"?>
<!-- Written by city-ops stack up; edits are overwritten. -->
<yandex>
  <profiles>
    <!-- The server's (config.xml default_profile), which its Kafka tables read with: skip the JSON fields
         they do not name, and the rows that do not parse (18.16 has no kafka_skip_broken_messages; without
         this, one broken message stops the table for good). Users' profiles are applied over it, so theirs
         say 0 again: our own inserts must fail on a misspelt column or a bad row, not drop it. -->
    <kafka_tables>
      <input_format_skip_unknown_fields>1</input_format_skip_unknown_fields>
      <input_format_allow_errors_ratio>1</input_format_allow_errors_ratio>
    </kafka_tables>
    <default>
      <input_format_skip_unknown_fields>0</input_format_skip_unknown_fields>
      <input_format_allow_errors_ratio>0</input_format_allow_errors_ratio>
      <max_memory_usage>4000000000</max_memory_usage>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>random</load_balancing>
    </default>
    <analyst>
      <input_format_skip_unknown_fields>0</input_format_skip_unknown_fields>
      <input_format_allow_errors_ratio>0</input_format_allow_errors_ratio>
      <readonly>1</readonly>
      <max_memory_usage>2000000000</max_memory_usage>
      <max_execution_time>120</max_execution_time>
    </analyst>
  </profiles>
  <users>
    <${env.CLICKHOUSE_USER}>
      <password_sha256_hex>${sha256(env.CLICKHOUSE_PASSWORD)}</password_sha256_hex>
      ${loopback}
      <profile>default</profile>
      <quota>default</quota>
    </${env.CLICKHOUSE_USER}>
    <${env.CLICKHOUSE_ANALYST_USER}>
      <password_sha256_hex>${sha256(env.CLICKHOUSE_ANALYST_PASSWORD)}</password_sha256_hex>
      ${loopback}
      <profile>analyst</profile>
      <quota>default</quota>
      <allow_databases>
        <database>${xmlEscape(env.CLICKHOUSE_DATABASE)}</database>
      </allow_databases>
    </${env.CLICKHOUSE_ANALYST_USER}>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
}
