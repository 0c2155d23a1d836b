import { CityOpsError } from '../../engine/errors.ts';
import { HoppingWindows } from './HoppingWindows.ts';
import { SessionWindowProcessor } from './SessionWindowProcessor.ts';
import { SessionWindows } from './SessionWindows.ts';
import { TimeWindowProcessor } from './TimeWindowProcessor.ts';
import { TumblingWindows } from './TumblingWindows.ts';
import type { WindowProcessor, WindowProcessorOptions } from './WindowProcessor.ts';
import type { WindowSpec } from './WindowSpec.ts';

/**
 * Builds the synchronous window core for a spec: `TimeWindowProcessor` for tumbling and hopping windows,
 * `SessionWindowProcessor` for sessions. Options are validated here (`INVALID_OPTIONS` names the field).
 *
 * @example
 * const processor = createWindowProcessor(HoppingWindows.ofSizeAdvanceAndGrace(300_000, 60_000, 10_000), {
 *   key: (r) => r.value.district,
 *   aggregate: aggregateAll({ n: count(), meanSpeedKmh: mapInput((v: Gps) => v.speedKmh, mean()) }),
 *   emit: 'onWindowClose',
 * });
 */
export function createWindowProcessor<T, K, S, R>(
  spec: WindowSpec,
  options: WindowProcessorOptions<T, K, S, R>,
): WindowProcessor<T, K, R> {
  if (spec instanceof TumblingWindows || spec instanceof HoppingWindows)
    return new TimeWindowProcessor(spec, options);
  if (spec instanceof SessionWindows) return new SessionWindowProcessor(spec, options);
  throw new CityOpsError(
    'INVALID_OPTIONS',
    'spec must be a TumblingWindows, HoppingWindows or SessionWindows (built with their static factories)',
  );
}
