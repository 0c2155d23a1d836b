import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CityOpsError } from '../errors.ts';

/** A program the local stack needs, and the Debian packages that provide it. */
interface Prerequisite {
  readonly program: string;
  readonly packages: readonly string[];
  readonly why: string;
}

const PREREQUISITES: readonly Prerequisite[] = [
  { program: 'java', packages: ['openjdk-17-jre-headless'], why: 'runs the Kafka broker (Java 17+)' },
  { program: 'mvn', packages: ['maven'], why: 'fetches the Kafka jars from Maven Central' },
  {
    program: 'clickhouse-server',
    packages: ['clickhouse-server', 'clickhouse-client'],
    why: 'the ClickHouse server',
  },
];

/** Full path of `program` on PATH (or under $JAVA_HOME/bin for java), or undefined. */
export function findProgram(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env['PATH'] ?? '').split(':').filter(Boolean);
  if (program === 'java' && env['JAVA_HOME']) dirs.unshift(join(env['JAVA_HOME'], 'bin'));
  for (const dir of dirs) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The major version of a `java` binary (17 for "17.0.15"), or undefined when it cannot be run. */
export function javaMajorVersion(java: string): number | undefined {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  if (!match) return undefined;
  const major = Number(match[1]);
  // Java 8 and older print "1.8.0_x".
  return major === 1 ? Number(match[2]) : major;
}

/**
 * Makes sure java (17+), mvn and clickhouse-server exist. Missing ones are installed with apt-get when we
 * run as root on a Debian-like system; otherwise this fails with the exact command to run.
 */
export function ensurePrerequisites(log: (line: string) => void): { java: string } {
  const missing = PREREQUISITES.filter((p) => findProgram(p.program) === undefined);
  if (missing.length > 0) {
    const packages = missing.flatMap((p) => p.packages);
    const command = `apt-get install -y ${packages.join(' ')}`;
    const canApt = process.getuid?.() === 0 && findProgram('apt-get') !== undefined;
    if (!canApt) {
      throw new CityOpsError(
        'PREREQUISITE_MISSING',
        `missing ${missing.map((p) => `${p.program} (${p.why})`).join(', ')}`,
        { hint: `install them, then run this again: sudo apt-get update && sudo ${command}` },
      );
    }
    log(
      `installing ${packages.join(', ')} with apt-get (missing: ${missing.map((p) => p.program).join(', ')})`,
    );
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '-q', ...packages], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (cause) {
      throw new CityOpsError('INSTALL_FAILED', `apt-get could not install ${packages.join(' ')}`, {
        cause,
        hint: `run it by hand to see why: ${command}`,
      });
    }
  }
  const java = findProgram('java');
  if (java === undefined) {
    throw new CityOpsError('PREREQUISITE_MISSING', 'java was not found on PATH or under $JAVA_HOME/bin', {
      hint: 'install Java 17 or newer (apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME',
    });
  }
  const major = javaMajorVersion(java);
  if (major === undefined || major < 17) {
    throw new CityOpsError(
      'PREREQUISITE_MISSING',
      `Kafka 4 needs Java 17 or newer; ${java} is ${major ?? 'of unknown version'}`,
      { hint: 'install openjdk-17-jre-headless or point JAVA_HOME at a Java 17+ installation' },
    );
  }
  return { java };
}
