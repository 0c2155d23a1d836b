import { parseArgs } from 'node:util';
import { loadEnvironment } from '../../config/environment.ts';
import { STREAM_NAMES, streamTopic } from '../../contract/topics.ts';
import { CityOpsError } from '../../errors.ts';
import { KAFKA_PRINCIPALS, newSecret, readCredentials, writeCredentials } from '../../stack/credentials.ts';
import { applyKafkaAccess, publisherGrants } from '../../stack/kafkaAccess.ts';
import { LocalStack, stackEnvironment } from '../../stack/localStack.ts';
import type { ServiceStatus } from '../../stack/stackService.ts';
import type { Command } from '../main.ts';

function formatStatus(status: ServiceStatus): string {
  const health = status.healthy ? 'healthy' : 'DOWN';
  const owner = status.ours ? `pid ${status.pid}` : status.healthy ? 'not started by us' : '';
  const parts = [
    `${status.name.padEnd(11)} ${health.padEnd(8)} ${status.listen}`,
    status.version ? `version ${status.version}` : '',
    owner,
    status.detail ?? '',
  ];
  return parts.filter(Boolean).join('  ');
}

export const command: Command = {
  summary: 'Install, start, stop and check the local Kafka broker and ClickHouse server (127.0.0.1).',
  usage: [
    'city-ops stack up       start what is not running (installs what is missing when run as root)',
    'city-ops stack down     stop the processes that stack up started',
    'city-ops stack status   health and versions; exits 1 when a service is down',
    'city-ops stack publisher <name>',
    '                        a Kafka user of its own for a publishing department: it may write the three',
    '                        input streams and nothing else; its password is printed once and kept in',
    '                        .stack/credentials.json',
    '',
    'Options: --json  print the status as JSON',
  ].join('\n'),
  async run(argv) {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false } },
    });
    const action = positionals[0];
    const log = (line: string) => process.stdout.write(`${line}\n`);
    const stack = new LocalStack(action === 'up' ? stackEnvironment(log) : loadEnvironment());
    const print = (statuses: ServiceStatus[]) => {
      if (values.json) process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
      else for (const status of statuses) log(formatStatus(status));
    };
    switch (action) {
      case 'up': {
        const statuses = await stack.up(log);
        print(statuses);
        return statuses.every((s) => s.healthy) ? 0 : 1;
      }
      case 'down':
        await stack.down(log);
        return 0;
      case 'status': {
        const statuses = await stack.status();
        print(statuses);
        return statuses.every((s) => s.healthy) ? 0 : 1;
      }
      case 'publisher': {
        const name = positionals[1] ?? '';
        // `dept-` names the departments' reading users (city-ops access kafka): a publisher may not take one.
        const taken = (KAFKA_PRINCIPALS as readonly string[]).includes(name) || name.startsWith('dept-');
        if (!/^[a-z][a-z0-9-]{1,62}$/.test(name) || taken) {
          throw new CityOpsError('CLI_USAGE', `'${name}' is not a free publisher name`, {
            hint: `lowercase letters, digits and -, e.g. transport-bureau; not one of ${KAFKA_PRINCIPALS.join(', ')}, nor dept-*`,
          });
        }
        const env = loadEnvironment();
        const stored = readCredentials(env.CITY_OPS_STACK_DIR);
        if (!stored)
          throw new CityOpsError('CONFIG_INVALID', 'the stack has no credentials yet', {
            hint: 'run city-ops stack up first',
          });
        const password = stored.publishers[name] ?? newSecret();
        const topics = STREAM_NAMES.map((s) => streamTopic(s, env.CITY_OPS_TOPIC_PREFIX));
        applyKafkaAccess(env, publisherGrants(name, password, topics));
        writeCredentials(env.CITY_OPS_STACK_DIR, {
          ...stored,
          publishers: { ...stored.publishers, [name]: password },
        });
        log(
          `publisher ${name}: SCRAM-SHA-512 password ${password} (shown once; kept in .stack/credentials.json)`,
        );
        log(`  may write ${topics.join(', ')} on ${env.KAFKA_BROKERS}, and nothing else`);
        return 0;
      }
      default:
        throw new CityOpsError('CLI_USAGE', `unknown stack action '${action ?? ''}'`, {
          hint: 'use one of: up, down, status, publisher',
        });
    }
  },
};
