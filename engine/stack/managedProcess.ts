import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A background service process that the stack starts and owns, tracked by a PID file.
 *
 * `stop()` only ever signals the PID in our file, and only while that process's command line still
 * contains `marker` (a path of ours), so a recycled PID of someone else's process is never killed.
 */
export class ManagedProcess {
  constructor(
    readonly name: string,
    readonly pidFile: string,
    /** A string the process's command line must contain for it to be ours (e.g. our config path). */
    readonly marker: string,
  ) {}

  /** PID of our running process, or undefined (no PID file, process gone, or PID reused by another). */
  runningPid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number.parseInt(readFileSync(this.pidFile, 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return commandLineOf(pid)?.includes(this.marker) ? pid : undefined;
  }

  /** Starts `command args` detached, with standard output and error appended to `logFile`. */
  start(
    command: string,
    args: readonly string[],
    logFile: string,
    env: NodeJS.ProcessEnv = process.env,
  ): number {
    mkdirSync(dirname(logFile), { recursive: true });
    mkdirSync(dirname(this.pidFile), { recursive: true });
    const log = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
      if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
      child.unref();
      writeFileSync(this.pidFile, `${child.pid}\n`);
      return child.pid;
    } finally {
      closeSync(log);
    }
  }

  /** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Returns whether a process of ours was stopped. */
  async stop(graceMs = 15_000): Promise<boolean> {
    const pid = this.runningPid();
    if (pid === undefined) {
      rmSync(this.pidFile, { force: true });
      return false;
    }
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && isAlive(pid)) await sleep(100);
    if (isAlive(pid)) {
      signal(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
    rmSync(this.pidFile, { force: true });
    return true;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    // The service runs in its own process group (detached): signal the group so helpers die with it.
    process.kill(-pid, name);
  } catch {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/** Whether `pid` is a live process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 is the state; "Z" is a zombie waiting for its parent, which for us means it has exited.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The command line of `pid` as one space-separated string, or undefined if there is no such process. */
export function commandLineOf(pid: number): string | undefined {
  if (!isAlive(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}
