import type { Observable, OperatorFunction } from 'rxjs';
import type { StreamInput } from '../../time/StreamInput.ts';
import type { GeoIntervalJoinOptions } from './GeoIntervalJoinProcessor.ts';
import type { IntervalJoinOutput } from './IntervalJoinProcessor.ts';
import { intervalJoin } from './intervalJoin.ts';
import { geoJoinOptions } from './joinInternals.ts';

/**
 * `intervalJoin` by proximity as an RxJS operator (see `GeoIntervalJoinProcessor`): the source is the left
 * side (e.g. incidents), `right` the right side (e.g. vehicle positions).
 *
 * @example
 * incidents$.pipe(
 *   geoIntervalJoin(vehicles$, {
 *     radiusMeters: 500, beforeMs: 0, afterMs: 600_000,
 *     leftPosition: (i) => i.value, rightPosition: (v) => v.value,
 *     join: (i, v, metres) => ({ incident: i.value.id, vehicle: v.value.plate, metres }),
 *   }),
 * );
 */
export function geoIntervalJoin<L, R, O>(
  right: Observable<StreamInput<R>>,
  options: GeoIntervalJoinOptions<L, R, O>,
): OperatorFunction<StreamInput<L>, IntervalJoinOutput<L, R, O>> {
  return intervalJoin(right, geoJoinOptions(options));
}
