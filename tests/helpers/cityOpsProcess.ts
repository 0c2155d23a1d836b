import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../engine/config/environment.ts';

/** A `city-ops <command>` child process of a test, with its output lines. */
export interface CityOpsProcess {
  readonly child: ChildProcess;
  /** stdout and stderr, line by line, as they came. */
  readonly output: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first output line matching `pattern`; rejects after `timeoutMs` or if it exits. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Starts `bin/city-ops.mjs <args>` with `env` over the test's own environment. */
export function spawnCityOps(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): CityOpsProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/city-ops.mjs'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exitedAs: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedAs = { code, signal };
      resolve(exitedAs);
    }),
  );
  return {
    child,
    output,
    exited,
    async line(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of output) {
          const match = pattern.exec(line);
          if (match) return match;
        }
        if (exitedAs)
          throw new Error(`city-ops ${args[0]} exited (${JSON.stringify(exitedAs)}): ${output.join('\n')}`);
        if (Date.now() > deadline)
          throw new Error(`no line ${pattern} within ${timeoutMs} ms: ${output.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
