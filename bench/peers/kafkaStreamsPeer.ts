import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../engine/config/environment.ts';
import { createKafka, ensureTopics } from '../../engine/connectors/kafka/client.ts';
import { STREAM_NAMES, streamTopic } from '../../engine/contract/topics.ts';
import { shenzhenDistricts } from '../../engine/geo/shenzhenDistricts.ts';
import { readCredentials } from '../../engine/stack/credentials.ts';
import type { BenchStack } from '../benchStack.ts';
import type { PeerRun } from './peerRun.ts';

const SOURCE = join(PROJECT_ROOT, 'bench', 'peers', 'kafka-streams');

/**
 * The JVM peer: bench/peers/kafka-streams (Kafka Streams 4.1.1, exactly_once_v2, two stream threads),
 * its jars fetched by Maven and its source compiled by javac in `prepare`, untimed. It writes its counts
 * to an output topic as `stream|district|window start` -> count (updates; the last value of a key is its
 * count), which this side reads with read_committed.
 */
export function kafkaStreamsPeer(stack: BenchStack, stackDir: string, work: string): PeerRun {
  const output = `${stack.env.CITY_OPS_TOPIC_PREFIX}peers.kafka-streams.district-minute`;
  const app = `bench-peers-ks-${stack.id}`;
  const counts = new Map<string, number>();
  let total = 0;
  let last: Record<string, unknown> = {};
  let java: ChildProcess | undefined;
  let reader: ReturnType<ReturnType<typeof createKafka>['consumer']> | undefined;
  const admin = readCredentials(stackDir)?.kafka.admin;
  return {
    name: 'kafka-streams',
    title: 'Kafka Streams 4.1.1, exactly_once_v2',
    groups: () => [
      { groupId: app, topics: STREAM_NAMES.map((s) => streamTopic(s, stack.env.CITY_OPS_TOPIC_PREFIX)) },
    ],
    pids: () => ({
      ...(java?.pid ? { java: java.pid } : {}),
      kafka: stack.kafkaPid,
    }),
    async prepare() {
      if (admin === undefined) throw new Error(`no stack credentials in ${stackDir}: run city-ops stack up`);
      mkdirSync(work, { recursive: true });
      run('mvn', [
        '-q',
        '-f',
        join(SOURCE, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${join(work, 'libs')}`,
      ]);
      run('javac', ['-d', join(work, 'classes'), '-cp', `${join(work, 'libs')}/*`, ...javaSources()]);
      writeFileSync(join(work, 'districts.geojson'), JSON.stringify(shenzhenDistricts().featureCollection));
      await ensureTopics(stack.env, [output], 6);
    },
    async start() {
      const topics = STREAM_NAMES.map((s) => `${s}:${streamTopic(s, stack.env.CITY_OPS_TOPIC_PREFIX)}`);
      rmSync(join(work, 'state'), { recursive: true, force: true });
      java = spawn(
        'java',
        [
          '-Xmx1g',
          '-cp',
          `${join(work, 'classes')}:${join(work, 'libs')}/*`,
          'cityops.peers.PeerApp',
          `bootstrap=127.0.0.1:${stack.env.STACK_KAFKA_PORT}`,
          'username=admin',
          `password=${admin}`,
          `app=${app}`,
          `topics=${topics.join(',')}`,
          `output=${output}`,
          `districts=${join(work, 'districts.geojson')}`,
          `state=${join(work, 'state')}`,
          'threads=2',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      java.stdout!.on('data', (chunk: Buffer) => {
        const lines = chunk.toString().trim().split('\n');
        for (const line of lines)
          if (line.startsWith('{')) last = JSON.parse(line) as Record<string, unknown>;
      });
      java.stderr!.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        if (/WARN|ERROR|Exception/.test(text)) process.stderr.write(`[kafka-streams] ${text}`);
      });
      process.once('exit', () => java?.kill('SIGKILL'));
      reader = createKafka(
        { ...stack.env, KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: admin },
        'bench-peers-reader',
      ).consumer({
        kafkaJS: { groupId: `${app}-reader`, fromBeginning: true },
        'isolation.level': 'read_committed',
      });
      await reader.connect();
      await reader.subscribe({ topics: [output] });
      void reader.run({
        eachMessage: async ({ message }) => {
          const key = String(message.key);
          const n = Number(String(message.value));
          total += n - (counts.get(key) ?? 0);
          counts.set(key, n);
        },
      });
    },
    total: async () => total,
    windows: async () => new Map(counts),
    async badRecords() {
      process.stderr.write(`[kafka-streams] its counters at the end: ${JSON.stringify(last)}\n`);
      return { rejected: (last['rejected'] as Record<string, number> | undefined) ?? {} };
    },
    async stop() {
      await reader?.disconnect();
      if (java && java.exitCode === null) {
        java.kill('SIGTERM');
        await new Promise((resolve) => java!.once('exit', resolve));
      }
    },
  };
}

function javaSources(): string[] {
  const dir = join(SOURCE, 'src', 'main', 'java', 'cityops', 'peers');
  return ['Contract.java', 'Districts.java', 'PeerApp.java'].map((f) => join(dir, f));
}

function run(program: string, args: string[]): void {
  const result = spawnSync(program, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0)
    throw new Error(
      `${program} ${args.slice(0, 3).join(' ')} ... failed (exit ${result.status}); see its output above`,
    );
}
