/** Mean earth radius used by H3, metres. */
const EARTH_RADIUS_M = 6_371_007.180918475;
const RAD = Math.PI / 180;

/**
 * Great-circle distance between two WGS84 points, metres (haversine on a sphere of H3's mean earth radius;
 * within 0.5% of the ellipsoidal distance). Takes plain numbers rather than h3-js's `greatCircleDistance`
 * pair arrays so the join hot path allocates nothing.
 *
 * @example
 * haversineMeters(22.5431, 114.0579, 22.5329, 113.9305); // ~13 100 m (Futian centre to Nanshan centre)
 */
export function haversineMeters(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const s = Math.sin(dLat / 2);
  const t = Math.sin(dLng / 2);
  const a = s * s + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * t * t;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}
