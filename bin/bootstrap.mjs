#!/usr/bin/env node
// Makes a fresh clone runnable: installs the Debian packages city-ops needs (as root, with apt-get;
// otherwise prints the exact command) and the npm dependencies (npm ci, with the native Kafka client built
// against Debian's libraries). Runs before `npm start` and `npm test`; does nothing when all is in place.
//
// Plain JavaScript with no dependencies on purpose: it runs before node_modules exists.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stderr.write(`bootstrap: ${line}\n`);

function onPath(program) {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Packages from engine/stack/system-packages.txt whose program or file is missing here. */
function missingPackages() {
  const lines = readFileSync(join(root, 'engine', 'stack', 'system-packages.txt'), 'utf8').split('\n');
  const missing = [];
  for (const line of lines) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [probe, packages] = line.split('|');
    const present = probe.startsWith('/') ? existsSync(probe) : onPath(probe);
    if (!present) missing.push(...packages.trim().split(/\s+/));
  }
  return missing;
}

const missing = missingPackages();
if (missing.length > 0) {
  const command = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    say(`installing ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: 'inherit', env });
  } else {
    say(`missing system packages: ${missing.join(' ')}`);
    say(`install them, then run this again:  sudo apt-get update && sudo ${command}`);
    process.exit(1);
  }
}

// The Kafka client's sources, patched below (patches/README.md); KAFKA_PATCH_MARK is in the current patch.
const kafkaClient = join(root, 'node_modules', '@confluentinc', 'kafka-javascript');
const patchedSource = join(kafkaClient, 'src', 'common.cc');
const KAFKA_PATCH_MARK = 'ToPackedV8Object';
const clientSource = existsSync(patchedSource) ? readFileSync(patchedSource, 'utf8') : '';
// An older city-ops patch cannot be patched over: install the client afresh.
const olderPatch = clientSource.includes('city-ops patch') && !clientSource.includes(KAFKA_PATCH_MARK);

// npm ci again whenever package-lock.json changed since the last install we did.
const lock = readFileSync(join(root, 'package-lock.json'));
const lockHash = createHash('sha256').update(lock).digest('hex');
const stamp = join(root, 'node_modules', '.city-ops-installed');
const installed = existsSync(stamp) && !olderPatch ? readFileSync(stamp, 'utf8').trim() : '';
if (installed !== lockHash) {
  say(
    'installing npm dependencies (npm ci; builds the Kafka client natively, about 2 minutes the first time)',
  );
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      // @confluentinc/kafka-javascript: build librdkafka against Debian's -dev libraries (no downloads).
      CKJS_LINKING: 'dynamic',
      npm_config_nodedir: process.env.npm_config_nodedir || '/usr',
    },
  });
  writeFileSync(stamp, `${lockHash}\n`);
}

// A speed patch of the native Kafka client (patches/README.md): applied to its sources after each install,
// then only the changed files are compiled again (seconds). A patch that no longer applies (the client was
// upgraded) stops here with the reason, rather than leaving a silently slower engine.
const kafkaPatch = join(root, 'patches', 'kafka-javascript-1.10.1-faster-consume.patch');
if (existsSync(patchedSource) && !readFileSync(patchedSource, 'utf8').includes(KAFKA_PATCH_MARK)) {
  say(
    'patching the Kafka client (patches/kafka-javascript-1.10.1-faster-consume.patch) and compiling what it changes',
  );
  try {
    execFileSync('patch', ['--dry-run', '--forward', '-p1', '-d', kafkaClient, '-i', kafkaPatch], {
      stdio: 'pipe',
    });
  } catch (error) {
    say(`the patch does not apply to node_modules/@confluentinc/kafka-javascript: ${error.stdout ?? error}`);
    say('was the client upgraded? update or remove the patch (patches/README.md says how)');
    process.exit(1);
  }
  execFileSync('patch', ['--forward', '-p1', '-d', kafkaClient, '-i', kafkaPatch], { stdio: 'inherit' });
  if (existsSync(join(kafkaClient, 'build', 'Makefile'))) {
    try {
      execFileSync('make', ['-C', join(kafkaClient, 'build'), 'BUILDTYPE=Release'], { stdio: 'pipe' });
    } catch (error) {
      // Undone, so that the next run tries again instead of finding the marker over an unpatched binary.
      execFileSync('patch', ['-R', '-p1', '-d', kafkaClient, '-i', kafkaPatch], { stdio: 'pipe' });
      say(`compiling the patched Kafka client failed:\n${String(error.stderr ?? error).slice(-4000)}`);
      say(
        'the C++ toolchain (g++, make) and the -dev packages of engine/stack/system-packages.txt are needed',
      );
      process.exit(1);
    }
  } else {
    say('the Kafka client was not built from source here (no build/Makefile): it runs unpatched');
  }
}
