import { describe, expect, it } from 'vitest';
import { ENGINE_THREADPOOL_SIZE, threadpoolWarning } from '../../../engine/pipeline/streamEngine.ts';

describe('the libuv thread pool the engine needs', () => {
  it('warns, naming the variable and the value to set, when the pool is the default or smaller', () => {
    expect(threadpoolWarning({})).toContain(`UV_THREADPOOL_SIZE=${ENGINE_THREADPOOL_SIZE}`);
    expect(threadpoolWarning({ UV_THREADPOOL_SIZE: '8' })).toMatch(/is 8/);
    expect(threadpoolWarning({ UV_THREADPOOL_SIZE: String(ENGINE_THREADPOOL_SIZE) })).toBeUndefined();
  });
});
