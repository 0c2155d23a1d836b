import { CityOpsError, isCityOpsError } from '../errors.ts';
import type { KafkaPrincipal } from '../stack/credentials.ts';

/** A CLI command: `run` gets the arguments after the command name and returns the process exit code. */
export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

/** Commands load lazily so that `city-ops stack status` does not load the engine, workers or the viz build. */
const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  access: () => import('./commands/access.ts'),
  alerts: () => import('./commands/alerts.ts'),
  base: () => import('./commands/base.ts'),
  catalogue: () => import('./commands/catalogue.ts'),
  ledger: () => import('./commands/ledger.ts'),
  migrate: () => import('./commands/migrate.ts'),
  quickstart: () => import('./commands/quickstart.ts'),
  run: () => import('./commands/run.ts'),
  serve: () => import('./commands/serve.ts'),
  simulate: () => import('./commands/simulate.ts'),
  stack: () => import('./commands/stack.ts'),
};

/**
 * The Kafka user each command runs as on the local stack (engine/stack/kafkaAccess.ts says what each may
 * do); the binary sets it before anything reads the environment. Commands that build the stack are admin.
 */
export const KAFKA_PRINCIPAL_OF: Readonly<Record<string, KafkaPrincipal>> = {
  alerts: 'alerts',
  base: 'engine',
  migrate: 'admin',
  quickstart: 'admin',
  run: 'engine',
  serve: 'map',
  simulate: 'publisher',
  stack: 'admin',
};

function usage(): string {
  return [
    'city-ops <command> [options]',
    '',
    'Commands:',
    ...Object.keys(COMMANDS).map((name) => `  ${name}`),
    '',
    'Run `city-ops <command> --help` for the options of one command.',
  ].join('\n');
}

/** Entry point of the `city-ops` binary; returns the exit code instead of exiting so tests can call it. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(`city-ops: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    const { command } = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${command.summary}\n\n${command.usage}\n`);
      return 0;
    }
    return await command.run(rest);
  } catch (error) {
    process.stderr.write(`city-ops ${name}: ${describeError(error)}\n`);
    return isCityOpsError(error) && error.domain === 'user' ? 2 : 1;
  }
}

function describeError(error: unknown): string {
  if (error instanceof CityOpsError) return error.describe();
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
