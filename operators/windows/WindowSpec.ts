import type { HoppingWindows } from './HoppingWindows.ts';
import type { SessionWindows } from './SessionWindows.ts';
import type { TumblingWindows } from './TumblingWindows.ts';

/**
 * Any window specification `windowAggregate()` and `createWindowProcessor()` accept.
 *
 * @example
 * const spec: WindowSpec = TumblingWindows.ofSizeAndGrace(60_000, 5_000);
 */
export type WindowSpec = TumblingWindows | HoppingWindows | SessionWindows;
