import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaBrokers, loadEnvironment } from '../../engine/config/environment.ts';
import { isCityOpsError } from '../../engine/errors.ts';

describe('loadEnvironment', () => {
  it('defaults to the local stack', () => {
    const env = loadEnvironment({});
    expect(env).toMatchObject({
      KAFKA_BROKERS: '127.0.0.1:9092',
      CLICKHOUSE_URL: 'http://127.0.0.1:8123',
      KAFKA_PARTITIONS: 6,
      CLICKHOUSE_DATABASE: 'city',
    });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('names the stack directory by its real path, so a linked checkout recognizes the same processes', () => {
    const root = mkdtempSync(join(tmpdir(), 'city-ops-stack-'));
    mkdirSync(join(root, 'real'));
    symlinkSync(join(root, 'real'), join(root, 'link'));
    expect(loadEnvironment({ CITY_OPS_STACK_DIR: join(root, 'link') }).CITY_OPS_STACK_DIR).toBe(
      realpathSync(join(root, 'real')),
    );
    // Not created yet: kept as given.
    expect(loadEnvironment({ CITY_OPS_STACK_DIR: join(root, 'later') }).CITY_OPS_STACK_DIR).toBe(
      join(root, 'later'),
    );
    rmSync(root, { recursive: true });
  });

  it('reads overrides and splits the broker list', () => {
    const env = loadEnvironment({ KAFKA_BROKERS: 'a:9092, b:9092', KAFKA_PARTITIONS: '12' });
    expect(kafkaBrokers(env)).toEqual(['a:9092', 'b:9092']);
    expect(env.KAFKA_PARTITIONS).toBe(12);
  });

  it('names every invalid variable', () => {
    try {
      loadEnvironment({ KAFKA_PARTITIONS: 'many', CLICKHOUSE_URL: 'not a url', CLICKHOUSE_USER: 'a b' });
      expect.unreachable();
    } catch (error) {
      expect(isCityOpsError(error, 'CONFIG_INVALID')).toBe(true);
      const message = (error as Error).message;
      expect(message).toMatch(/KAFKA_PARTITIONS/);
      expect(message).toMatch(/CLICKHOUSE_URL/);
      expect(message).toMatch(/CLICKHOUSE_USER/);
    }
  });
});
