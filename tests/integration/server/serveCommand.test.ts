import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../engine/config/environment.ts';
import { ProtocolClient } from './protocolClient.ts';

const BIN = resolve(PROJECT_ROOT, 'bin', 'city-ops.mjs');

function run(args: string[]): { child: ChildProcess; output: () => string } {
  // A token from the environment would replace the generated one this test expects.
  const { CITY_OPS_MAP_TOKEN: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...env, LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    out += String(chunk);
  });
  return { child, output: () => out };
}

describe('city-ops serve', () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('serves the demo city, prints the URL with a generated token, and stops on SIGINT', async () => {
    const { child, output } = run(['--demo', '--port', '0', '--vehicles', '300', '--cells', '100']);
    started.push(child);
    const deadline = Date.now() + 60_000;
    while (!/open (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.test(output())) {
      if (Date.now() > deadline) throw new Error(`no URL printed: ${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const [, url, token] = /open (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(output())!;
    expect(output()).toContain('token generated for this run');
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', kafka: 'disabled' });

    const client = await ProtocolClient.connect(
      `${url!.replace('http', 'ws')}/ws?token=${decodeURIComponent(token!)}`,
    );
    client.subscribe(['vehicles'], { area: { districts: ['440304'] } });
    await client.until(() => (client.state.get('vehicles/440304')?.size ?? 0) > 0, 30_000);
    client.close();

    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output()).toContain('stopping the map server');
  });

  it('refuses a token that is too short, naming the flag', async () => {
    const { child, output } = run(['--demo', '--port', '0', '--token', 'short']);
    started.push(child);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(output()).toMatch(/CLI_USAGE.*--token: must have at least 16 characters/);
  });

  it('warns when it listens beyond this machine (no TLS)', async () => {
    const { child, output } = run([
      '--demo',
      '--port',
      '0',
      '--host',
      '0.0.0.0',
      '--token',
      'a-token-of-16-chars',
    ]);
    started.push(child);
    const deadline = Date.now() + 60_000;
    while (!output().includes('map server listening')) {
      if (Date.now() > deadline) throw new Error(`not listening: ${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output()).toMatch(
      /warning: 0\.0\.0\.0 is reachable from other machines and the server has no TLS/,
    );
    child.kill('SIGKILL');
  });
});
