import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/environment.ts';

/** One service the supervisor keeps running: a `city-ops` command in a process of its own. */
export interface ServiceSpec {
  readonly name: string;
  /** Arguments of `city-ops` (e.g. `['run', '--idle-timeout-ms', '15000']`), built anew at each start. */
  readonly args: () => string[];
  readonly env?: Record<string, string>;
}

interface Running {
  readonly spec: ServiceSpec;
  child: ChildProcess | undefined;
  startedAt: number;
  restarts: number;
  timer: NodeJS.Timeout | undefined;
}

/** Restart delays: 1 s doubling to 30 s; a service that ran 60 s starts again from 1 s. */
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
const STABLE_MS = 60_000;

/**
 * Runs each service of the quick start in its own process, so one's crash does not take the others, and
 * starts again what died (with a backoff), saying so. Output goes to `<logDir>/<name>.log`.
 *
 * Written here rather than taken from a process manager (pm2, systemd): the quick start must live and die
 * with the terminal it runs in, start on a fresh clone with nothing installed, and stop every child on
 * Ctrl+C; this is 100 lines of node:child_process.
 */
export class Supervisor {
  private readonly services = new Map<string, Running>();
  private stopping = false;
  private readonly logs = new Map<string, WriteStream>();

  constructor(
    private readonly logDir: string,
    private readonly say: (line: string) => void,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** The log file of a service. */
  logFile(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  start(spec: ServiceSpec): void {
    const running: Running = { spec, child: undefined, startedAt: 0, restarts: 0, timer: undefined };
    this.services.set(spec.name, running);
    this.launch(running);
  }

  /** How many times each service was started again. */
  restarts(): Record<string, number> {
    return Object.fromEntries([...this.services].map(([name, r]) => [name, r.restarts]));
  }

  private launch(running: Running): void {
    const { spec } = running;
    let log = this.logs.get(spec.name);
    if (!log) {
      log = createWriteStream(this.logFile(spec.name), { flags: 'a' });
      this.logs.set(spec.name, log);
    }
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'city-ops.mjs'), ...spec.args()], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    running.child = child;
    running.startedAt = Date.now();
    this.say(`${spec.name} started (pid ${child.pid})`);
    child.once('exit', (code, signal) => this.onExit(running, code, signal));
    child.once('error', (error) => this.say(`${spec.name}: could not start: ${error.message}`));
  }

  private onExit(running: Running, code: number | null, signal: NodeJS.Signals | null): void {
    running.child = undefined;
    if (this.stopping) return;
    const { name } = running.spec;
    const ranMs = Date.now() - running.startedAt;
    const attempt = ranMs >= STABLE_MS ? 0 : running.restarts;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 5));
    running.restarts += 1;
    this.say(
      `${name} exited (${signal ?? `code ${code}`}) after ${Math.round(ranMs / 1000)} s; starting it again in ${delay / 1000} s (log: ${this.logFile(name)})`,
    );
    running.timer = setTimeout(() => {
      running.timer = undefined;
      if (!this.stopping) this.launch(running);
    }, delay);
  }

  /** Stops every service: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const running of this.services.values()) {
      clearTimeout(running.timer);
      const child = running.child;
      if (!child) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(exits);
    for (const log of this.logs.values()) log.end();
  }
}
