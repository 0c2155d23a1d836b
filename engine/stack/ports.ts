import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';

/** Resolves true when something accepts TCP connections on host:port within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Names the process listening on `port`, e.g. `pid 812 (nginx)`, when `ss` can tell; otherwise a generic
 * phrase. Only used to make the PORT_IN_USE message actionable.
 */
export function describeListener(port: number): string {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 2_000 });
    const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    if (match) return `pid ${match[2]} (${match[1]})`;
  } catch {
    // ss missing or not permitted: fall through
  }
  return 'another process';
}
