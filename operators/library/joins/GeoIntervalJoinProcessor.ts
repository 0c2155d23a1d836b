import type { H3ProximityOptions } from '../../geo/H3Proximity.ts';
import type { SourceRecord } from '../../time/SourceRecord.ts';
import { type IntervalJoinOptions, IntervalJoinProcessor } from './IntervalJoinProcessor.ts';
import { geoJoinOptions } from './joinInternals.ts';

/** A WGS84 position, degrees. */
export interface LatLng {
  readonly lat: number;
  readonly lng: number;
}

export interface GeoIntervalJoinOptions<L, R, O>
  extends H3ProximityOptions,
    Pick<
      IntervalJoinOptions<L, R, string, O>,
      'beforeMs' | 'afterMs' | 'graceMs' | 'watermarks' | 'outOfOrdernessMs'
    > {
  /** Where a left record happened (e.g. `(r) => r.value` when the value has `lat` and `lng`). */
  readonly leftPosition: (record: SourceRecord<L>) => LatLng;
  readonly rightPosition: (record: SourceRecord<R>) => LatLng;
  /** Builds the output of a pair within `radiusMeters` and the time bound; gets their distance in metres. */
  readonly join: (left: SourceRecord<L>, right: SourceRecord<R>, distanceMeters: number) => O;
}

/**
 * An interval join whose key is proximity: a left and a right record match when they are at most
 * `radiusMeters` apart (great circle) and `left.ts - beforeMs <= right.ts <= left.ts + afterMs`. Each side is
 * indexed by its H3 cell; a record probes the other side's cells in the `H3Proximity` disk, then the exact
 * distance decides, so results equal a brute-force distance-and-time join. Everything else (watermarks, late
 * records, state expiry) is `IntervalJoinProcessor`'s.
 *
 * @example
 * // Vehicles within 500 m of an incident, from 2 minutes before to 10 minutes after it.
 * const join = new GeoIntervalJoinProcessor({
 *   radiusMeters: 500, beforeMs: 120_000, afterMs: 600_000, near: { lat: 22.54, lng: 114.05 },
 *   leftPosition: (incident) => incident.value, rightPosition: (vehicle) => vehicle.value,
 *   join: (incident, vehicle, metres) => ({ incident: incident.value.id, vehicle: vehicle.value.plate, metres }),
 * });
 */
export class GeoIntervalJoinProcessor<L, R, O> extends IntervalJoinProcessor<L, R, string, O> {
  constructor(options: GeoIntervalJoinOptions<L, R, O>) {
    super(geoJoinOptions(options));
  }
}
