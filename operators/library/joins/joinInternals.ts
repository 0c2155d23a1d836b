// Shared by GeoIntervalJoinProcessor and geoIntervalJoin: turns geo options into interval-join options keyed
// by H3 cell, probing the cells of a disk and checking the exact distance.
import { H3Proximity } from '../../geo/H3Proximity.ts';
import { haversineMeters } from '../../geo/haversineMeters.ts';
import { requireFunction } from '../../optionInternals.ts';
import type { SourceRecord } from '../../time/SourceRecord.ts';
import type { GeoIntervalJoinOptions } from './GeoIntervalJoinProcessor.ts';
import type { IntervalJoinOptions } from './IntervalJoinProcessor.ts';

export function geoJoinOptions<L, R, O>(
  options: GeoIntervalJoinOptions<L, R, O>,
): IntervalJoinOptions<L, R, string, O> {
  const proximity = new H3Proximity(options);
  const leftPosition = requireFunction('options.leftPosition', options.leftPosition);
  const rightPosition = requireFunction('options.rightPosition', options.rightPosition);
  const join = requireFunction('options.join', options.join);
  const radius = proximity.radiusMeters;
  // Degrees of latitude that `radius` spans, plus a hair: a cheap test that rejects most disk candidates
  // before the trigonometry of the exact distance.
  const latSpan = (radius / 111_194.9) * 1.001;
  // The east-west test treats the neighbourhood as flat: within 1% for radii up to 50 km away from the poles.
  const lngTest = radius <= 50_000;
  // `where` runs right before `join` for the same pair, so the distance it computed is handed over here.
  let lastDistance = 0;
  return {
    beforeMs: options.beforeMs,
    afterMs: options.afterMs,
    graceMs: options.graceMs,
    watermarks: options.watermarks,
    outOfOrdernessMs: options.outOfOrdernessMs,
    leftKey: (record: SourceRecord<L>) => {
      const p = leftPosition(record);
      return proximity.cellOf(p.lat, p.lng);
    },
    rightKey: (record: SourceRecord<R>) => {
      const p = rightPosition(record);
      return proximity.cellOf(p.lat, p.lng);
    },
    probeKeys: (cell: string) => proximity.candidates(cell),
    where: (left: SourceRecord<L>, right: SourceRecord<R>) => {
      const a = leftPosition(left);
      const b = rightPosition(right);
      const dLat = a.lat - b.lat;
      if (dLat > latSpan || dLat < -latSpan) return false;
      if (lngTest && a.lat < 80 && a.lat > -80) {
        const dLng = (a.lng - b.lng) * Math.cos((a.lat * Math.PI) / 180);
        if (dLng > latSpan * 1.01 || dLng < -latSpan * 1.01) return false;
      }
      lastDistance = haversineMeters(a.lat, a.lng, b.lat, b.lng);
      return lastDistance <= radius;
    },
    join: (left: SourceRecord<L>, right: SourceRecord<R>) => join(left, right, lastDistance),
  };
}
