import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, PROJECT_ROOT } from '../config/environment.ts';
import { CityOpsError } from '../errors.ts';
import { readCredentials } from './credentials.ts';
import { ManagedProcess } from './managedProcess.ts';
import { describeListener, isListening } from './ports.ts';
import { ensurePrerequisites, findProgram } from './prerequisites.ts';
import type { ServiceStatus, StackService } from './stackService.ts';

const HOST = '127.0.0.1';
const POM = join(PROJECT_ROOT, 'engine', 'stack', 'kafka', 'pom.xml');

/**
 * The local Apache Kafka 4.x broker in KRaft mode: one process that is both broker and controller,
 * listening on 127.0.0.1 only. Its jars come from Maven Central (engine/stack/kafka/pom.xml) into
 * `<stack dir>/kafka/libs`; its log segments and metadata live in `<stack dir>/kafka/data`.
 */
export class KafkaService implements StackService {
  readonly name = 'kafka';
  private readonly dir: string;
  private readonly process: ManagedProcess;

  constructor(private readonly env: Environment) {
    this.dir = join(env.CITY_OPS_STACK_DIR, 'kafka');
    this.process = new ManagedProcess('kafka', join(this.dir, 'kafka.pid'), this.propertiesFile);
  }

  private get propertiesFile(): string {
    return join(this.env.CITY_OPS_STACK_DIR, 'kafka', 'server.properties');
  }

  private get libs(): string {
    return join(this.dir, 'libs');
  }

  get bootstrap(): string {
    return `${HOST}:${this.env.STACK_KAFKA_PORT}`;
  }

  get logFile(): string {
    return join(this.dir, 'kafka.log');
  }

  /** The Kafka version of the jars we run (from kafka-clients-<version>.jar), if installed. */
  installedVersion(): string | undefined {
    if (!existsSync(this.libs)) return undefined;
    const jar = readdirSync(this.libs).find((f) => /^kafka-clients-.+\.jar$/.test(f));
    return jar?.replace(/^kafka-clients-/, '').replace(/\.jar$/, '');
  }

  async status(): Promise<ServiceStatus> {
    const pid = this.process.runningPid();
    const listening = await isListening(HOST, this.env.STACK_KAFKA_PORT);
    // The broker accepts connections a moment before it can serve metadata; "started" in its log is the
    // point where clients work.
    const healthy = listening && (pid === undefined || this.logSaysStarted());
    return {
      name: this.name,
      ours: pid !== undefined,
      pid,
      healthy,
      version: this.installedVersion(),
      listen: this.bootstrap,
      detail: healthy ? undefined : pid ? 'process running, broker not started yet' : 'not running',
    };
  }

  async start(log: (line: string) => void): Promise<void> {
    const { java } = ensurePrerequisites(log);
    for (const port of [this.env.STACK_KAFKA_PORT, this.env.STACK_KAFKA_CONTROLLER_PORT]) {
      if (await isListening(HOST, port)) {
        throw new CityOpsError(
          'PORT_IN_USE',
          `${HOST}:${port} (Kafka) is taken by ${describeListener(port)}`,
          {
            hint: 'stop that process, or set STACK_KAFKA_PORT / STACK_KAFKA_CONTROLLER_PORT to free ports',
          },
        );
      }
    }
    this.installJars(log);
    this.writeConfig();
    this.formatStorage(java, log);
    log(`kafka: starting broker+controller, heap ${this.env.STACK_KAFKA_HEAP} (log ${this.logFile})`);
    const startOffset = existsSync(this.logFile) ? readFileSync(this.logFile).length : 0;
    this.logStartOffset = startOffset;
    this.process.start(
      java,
      [
        `-Xms${this.env.STACK_KAFKA_HEAP}`,
        `-Xmx${this.env.STACK_KAFKA_HEAP}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${join(this.dir, 'log4j2.yaml')}`,
        '-cp',
        `${this.libs}/*`,
        'kafka.Kafka',
        this.propertiesFile,
      ],
      this.logFile,
    );
    const started = Date.now();
    while (Date.now() - started < 90_000) {
      if (this.logSaysStarted() && (await isListening(HOST, this.env.STACK_KAFKA_PORT))) return;
      if (this.process.runningPid() === undefined) break;
      await sleep(250);
    }
    throw new CityOpsError('SERVICE_START_FAILED', `Kafka did not start listening on ${this.bootstrap}`, {
      hint: `read the end of ${this.logFile}`,
    });
  }

  stop(): Promise<boolean> {
    return this.process.stop(30_000);
  }

  private logStartOffset = 0;

  private logSaysStarted(): boolean {
    if (!existsSync(this.logFile)) return false;
    const text = readFileSync(this.logFile).subarray(this.logStartOffset).toString('utf8');
    const lastStart = text.lastIndexOf('Kafka Server started');
    return lastStart >= 0 && text.indexOf('shut down completed', lastStart) < 0;
  }

  private installJars(log: (line: string) => void): void {
    if (this.installedVersion() !== undefined) return;
    const mvn = findProgram('mvn');
    if (!mvn) throw new CityOpsError('PREREQUISITE_MISSING', 'mvn (Maven) is not installed');
    log(`kafka: fetching the broker's jars from Maven Central into ${this.libs} (once)`);
    try {
      execFileSync(
        mvn,
        ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${this.libs}`],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
    } catch (cause) {
      throw new CityOpsError('INSTALL_FAILED', 'Maven could not fetch the Kafka jars', {
        cause,
        hint: `check access to Maven Central, then run: mvn -f ${POM} dependency:copy-dependencies -DoutputDirectory=${this.libs}`,
      });
    }
  }

  /** The admin password of this stack (credentials.json, written by `LocalStack.up` before any start). */
  private get adminPassword(): string {
    const stored = readCredentials(this.env.CITY_OPS_STACK_DIR);
    if (!stored)
      throw new CityOpsError('CONFIG_INVALID', 'the stack has no credentials file yet', {
        hint: 'run city-ops stack up',
      });
    return stored.kafka.admin;
  }

  /** A broker of ours started by an earlier version, without authentication: `up` restarts it. */
  outdated(): boolean {
    return (
      this.process.runningPid() !== undefined &&
      existsSync(this.propertiesFile) &&
      !readFileSync(this.propertiesFile, 'utf8').includes('SASL_PLAINTEXT')
    );
  }

  private writeConfig(): void {
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const enginePassword = readCredentials(this.env.CITY_OPS_STACK_DIR)?.kafka.engine;
    writeFileSync(
      this.propertiesFile,
      renderServerProperties(this.dir, this.env, this.adminPassword, enginePassword),
      { mode: 0o600 },
    );
    writeFileSync(
      join(this.dir, 'log4j2.yaml'),
      [
        'Configuration:',
        '  Appenders:',
        '    Console:',
        '      name: STDOUT',
        '      PatternLayout:',
        '        pattern: "[%d] %p %m (%c)%n"',
        '  Loggers:',
        '    Root:',
        '      level: INFO',
        '      AppenderRef:',
        '        - ref: STDOUT',
        '    Logger:',
        '      - name: kafka.log',
        '        level: WARN',
        '      - name: org.apache.kafka.storage',
        '        level: WARN',
        '',
      ].join('\n'),
    );
  }

  /** KRaft needs its storage formatted once with a cluster id; later starts reuse it. */
  private formatStorage(java: string, log: (line: string) => void): void {
    const data = join(this.dir, 'data');
    const marker = join(data, '.city-ops-scram');
    if (existsSync(join(data, 'meta.properties'))) {
      if (existsSync(marker)) return;
      // Formatted by an earlier version, without the admin's SCRAM credentials the broker now logs in with:
      // this local data cannot be opened with authentication, so it is set aside, not deleted.
      const aside = `${data}.before-auth-${Date.now()}`;
      renameSync(data, aside);
      mkdirSync(data, { recursive: true });
      log(`kafka: the local data was created without authentication; moved to ${aside}, starting afresh`);
    }
    const clusterId = newClusterId();
    log(`kafka: formatting KRaft storage (cluster id ${clusterId})`);
    const result = spawnSync(
      java,
      [
        '-Xmx256m',
        '-cp',
        `${this.libs}/*`,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        this.propertiesFile,
        '--add-scram',
        `SCRAM-SHA-512=[name=admin,password=${this.adminPassword}]`,
      ],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) {
      throw new CityOpsError(
        'SERVICE_START_FAILED',
        `formatting Kafka storage failed: ${result.stderr || result.stdout}`,
        {
          hint: `remove ${join(this.dir, 'data')} if it holds a broken previous install, then run stack up again`,
        },
      );
    }
    writeFileSync(marker, 'formatted with the admin SCRAM credentials of ../../credentials.json\n');
  }
}

/** server.properties of the single-node KRaft cluster. Replication factors are 1: there is one node. */
/**
 * A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, as `kafka-storage random-uuid`
 * prints, and like Kafka's `Uuid.randomUuid()` never starting with '-' (the storage tool would take such an
 * id for an option: "argument --cluster-id/-t: expected one argument", one start in 64).
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Clients authenticate with SCRAM-SHA-512 (users and their ACLs: engine/stack/kafkaAccess.ts), the broker to
 * itself as `admin`; the controller listener takes PLAIN with the same admin password (KRaft controllers
 * cannot use SCRAM, whose credentials live in the metadata they serve). Nothing is allowed without an ACL.
 *
 * With `enginePassword`, the client listener also takes PLAIN for the engine's principal alone (same name,
 * password and ACLs): ClickHouse 18.16 links Debian's librdkafka 2.0.2, whose SCRAM proof Kafka 4.x
 * rejects (fixed in librdkafka 2.6.1, confluentinc/librdkafka#4895), so its Kafka tables (bench:peers)
 * log in with PLAIN. Loopback only, like every listener here.
 */
export function renderServerProperties(
  dir: string,
  env: Environment,
  adminPassword: string,
  enginePassword?: string,
): string {
  const scram = `org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${adminPassword}";`;
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${adminPassword}" user_admin="${adminPassword}";`;
  const clientPlain = enginePassword
    ? [
        'listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN',
        `listener.name.client.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_engine="${enginePassword}";`,
      ]
    : ['listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512'];
  return [
    '# Written by city-ops stack up; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${env.STACK_KAFKA_CONTROLLER_PORT}`,
    `listeners=CLIENT://${HOST}:${env.STACK_KAFKA_PORT},CONTROLLER://${HOST}:${env.STACK_KAFKA_CONTROLLER_PORT}`,
    `advertised.listeners=CLIENT://${HOST}:${env.STACK_KAFKA_PORT}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
    'inter.broker.listener.name=CLIENT',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
    'sasl.mechanism.controller.protocol=PLAIN',
    ...clientPlain,
    `listener.name.client.scram-sha-512.sasl.jaas.config=${scram}`,
    'listener.name.controller.sasl.enabled.mechanisms=PLAIN',
    `listener.name.controller.plain.sasl.jaas.config=${plain}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users=User:admin',
    'allow.everyone.if.no.acl.found=false',
    `log.dirs=${join(dir, 'data')}`,
    `num.partitions=${env.KAFKA_PARTITIONS}`,
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Tests add and remove consumers often: do not wait for more members before the first assignment.
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=72',
    'log.segment.bytes=268435456',
    // Per record batch (compressed), not per record: producers send batches of up to 1 MiB. The contract's
    // 64 KiB per record is the engine's to enforce (a larger record is a dead letter 'oversized').
    'message.max.bytes=1048576',
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}
