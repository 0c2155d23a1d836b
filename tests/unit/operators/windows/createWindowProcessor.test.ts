import { describe, expect, it } from 'vitest';
import { count } from '../../../../operators/library/aggregates/count.ts';
import { createWindowProcessor } from '../../../../operators/windows/createWindowProcessor.ts';
import { HoppingWindows } from '../../../../operators/windows/HoppingWindows.ts';
import { SessionWindowProcessor } from '../../../../operators/windows/SessionWindowProcessor.ts';
import { SessionWindows } from '../../../../operators/windows/SessionWindows.ts';
import { TimeWindowProcessor } from '../../../../operators/windows/TimeWindowProcessor.ts';
import { TumblingWindows } from '../../../../operators/windows/TumblingWindows.ts';

const options = { key: () => 'all', aggregate: count() };

describe('createWindowProcessor', () => {
  it('picks the core for the spec', () => {
    expect(createWindowProcessor(TumblingWindows.ofSizeWithNoGrace(10), options)).toBeInstanceOf(
      TimeWindowProcessor,
    );
    expect(createWindowProcessor(HoppingWindows.ofSizeAndAdvanceWithNoGrace(10, 5), options)).toBeInstanceOf(
      TimeWindowProcessor,
    );
    expect(createWindowProcessor(SessionWindows.ofInactivityGapWithNoGrace(10), options)).toBeInstanceOf(
      SessionWindowProcessor,
    );
  });

  it('rejects a spec that was not built by the factories, and missing options', () => {
    expect(() => createWindowProcessor({ kind: 'tumbling', sizeMs: 10 } as never, options)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() =>
      createWindowProcessor(TumblingWindows.ofSizeWithNoGrace(10), { aggregate: count() } as never),
    ).toThrow('options.key must be a function, got undefined');
    expect(() =>
      createWindowProcessor(TumblingWindows.ofSizeWithNoGrace(10), { key: () => 1 } as never),
    ).toThrow('options.aggregate must be an Aggregate');
  });
});
