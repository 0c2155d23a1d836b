import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../engine/config/environment.ts';
import { testEnv } from '../../helpers/environment.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'city-ops.mjs');

function cityOps(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/** PIDs of live processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(needle) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

describe('city-ops stack', () => {
  it('up on a running stack says so and starts nothing', async () => {
    const before = cityOps(['stack', 'status', '--json']);
    expect(before.code).toBe(0);
    const { code, out } = cityOps(['stack', 'up']);
    expect(code).toBe(0);
    expect(out).toMatch(/clickhouse: already running/);
    expect(out).toMatch(/kafka: already running/);
    expect(out).not.toMatch(/starting/);
    const after = cityOps(['stack', 'status', '--json']);
    const pids = (text: string) => (JSON.parse(text) as Array<{ pid: number }>).map((s) => s.pid);
    expect(pids(after.out)).toEqual(pids(before.out));
  });

  describe('a second, isolated stack on other ports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'city-ops-stack-'));
    const env = {
      CITY_OPS_STACK_DIR: dir,
      STACK_CLICKHOUSE_HTTP_PORT: '18123',
      STACK_CLICKHOUSE_TCP_PORT: '19000',
      STACK_KAFKA_PORT: '19092',
      STACK_KAFKA_CONTROLLER_PORT: '19093',
      STACK_KAFKA_HEAP: '256m',
      KAFKA_BROKERS: '127.0.0.1:19092',
      CLICKHOUSE_URL: 'http://127.0.0.1:18123',
      KAFKA_PARTITIONS: '2',
    };
    // Reuse the jars the main stack fetched instead of downloading them again.
    mkdirSync(join(dir, 'kafka'), { recursive: true });
    symlinkSync(join(testEnv.CITY_OPS_STACK_DIR, 'kafka', 'libs'), join(dir, 'kafka', 'libs'));

    // A test that fails half-way must not leave its services on the ports the next test uses.
    afterEach(() => {
      cityOps(['stack', 'down'], env);
    });

    afterAll(() => {
      cityOps(['stack', 'down'], env);
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts, reports, stops and leaves no process behind', () => {
      const down = cityOps(['stack', 'status'], env);
      expect(down.code).toBe(1);
      expect(down.out).toMatch(/clickhouse\s+DOWN/);
      expect(down.out).toMatch(/kafka\s+DOWN/);

      const up = cityOps(['stack', 'up'], env);
      expect(up.out).toMatch(/clickhouse: healthy on http:\/\/127\.0\.0\.1:18123/);
      expect(up.out).toMatch(/kafka: healthy on 127\.0\.0\.1:19092/);
      expect(up.code).toBe(0);
      expect(processesMentioning(dir).length).toBeGreaterThanOrEqual(2);

      const status = cityOps(['stack', 'status'], env);
      expect(status.code).toBe(0);
      expect(status.out).toMatch(/clickhouse\s+healthy.*version 18\.16/);
      expect(status.out).toMatch(/kafka\s+healthy.*version 4\./);

      const stopped = cityOps(['stack', 'down'], env);
      expect(stopped.code).toBe(0);
      expect(stopped.out).toMatch(/kafka: stopped/);
      expect(stopped.out).toMatch(/clickhouse: stopped/);
      expect(processesMentioning(dir)).toEqual([]);

      const after = cityOps(['stack', 'status'], env);
      expect(after.code).toBe(1);
      expect(after.out).toMatch(/not running/);
    });

    it('refuses to start on a port another process holds, and says which', async () => {
      const { createServer } = await import('node:net');
      const squatter = createServer();
      await new Promise<void>((resolve, reject) => {
        squatter.once('error', reject);
        squatter.listen(18123, '127.0.0.1', resolve);
      });
      try {
        const up = cityOps(['stack', 'up'], env);
        expect(up.code).toBe(2);
        expect(up.out).toMatch(/PORT_IN_USE.*127\.0\.0\.1:18123/);
        expect(up.out).toMatch(/STACK_CLICKHOUSE_HTTP_PORT/);
      } finally {
        squatter.close();
        cityOps(['stack', 'down'], env);
      }
    });
  });
});
