import { describe, expect, it } from 'vitest';
import { isCityOpsError } from '../../../engine/errors.ts';
import { resolveEngineOptions } from '../../../engine/pipeline/engineOptions.ts';
import { engineTopology } from '../../../engine/pipeline/engineTopology.ts';

describe('engine topology and options', () => {
  it('describes the processing graph as stable text', () => {
    const options = resolveEngineOptions({ workers: 2, instanceId: 'test' });
    expect(
      engineTopology(options, { city: 'city', restricted: 'city_restricted' }).describe(),
    ).toMatchSnapshot();
  });

  it('validates options once and names the field', () => {
    expect(Object.isFrozen(resolveEngineOptions({}))).toBe(true);
    try {
      resolveEngineOptions({ graceMs: -1, workers: 0 });
      expect.unreachable();
    } catch (error) {
      expect(isCityOpsError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/options\.graceMs/);
      expect((error as Error).message).toMatch(/options\.workers/);
    }
  });
});
