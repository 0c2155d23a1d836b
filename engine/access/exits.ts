import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { exitItems } from '../catalogue/negativeList.ts';
import { type Grant, project } from '../catalogue/projection.ts';
import type { Layer } from '../server/protocol.ts';

/**
 * The resource classes each exit of the map server sends, by the catalogue's ids: one place that says
 * which grant a layer or a history table needs. A layer that shows two classes needs both.
 */
export const LAYER_CLASSES: Readonly<Record<Layer, readonly string[]>> = {
  vehicles: ['map.vehicles'],
  cells: ['map.cells'],
  incidents: ['map.incidents', 'map.incident_impact'],
  districts: ['map.districts'],
  pulse: ['map.pulse'],
  alerts: ['alerts.webhooks'],
  status: ['map.status'],
};

/** The history API's tables (`/api/history`) and the classes they are rows of. */
export const HISTORY_CLASSES = {
  district_minute: 'marts.district_minute',
  district_pulse: 'joined.district_pulse',
  incident_impact: 'joined.incident_impact',
} as const;
export type HistorySource = keyof typeof HISTORY_CLASSES;

/** Where each history table's rows are in an answer of `/api/history`. */
export const HISTORY_ROWS: Record<HistorySource, 'districtMinute' | 'districtPulse' | 'incidentImpact'> = {
  district_minute: 'districtMinute',
  district_pulse: 'districtPulse',
  incident_impact: 'incidentImpact',
};

/** What the exits judge by: the catalogue and the grants in force (read when asked). */
export interface AccessPolicy {
  readonly catalogue: Catalogue;
  grants(): readonly Grant[];
}

/**
 * Why a department does not receive a class whole at `now`, or undefined when it does. The history's
 * tables have a fixed shape, so they go out only when every item of the class that may leave at all goes
 * to the department; a map layer may go out cut to fewer items (engine/access/layerCut.ts).
 */
export function refusalOf(
  policy: AccessPolicy,
  department: string,
  classId: string,
  now = Date.now(),
): string | undefined {
  const resource = policy.catalogue.resources.find((r) => r.id === classId);
  if (resource === undefined) return `${classId} is not in the catalogue`;
  const projection = project(policy.catalogue, policy.grants(), department, classId, now);
  if (projection.items.length === 0) return `${classId}: ${projection.reason}`;
  const sent = new Set(projection.items.map((i) => i.id));
  const dropped = new Set(resource.items.filter((i) => i.masking === 'drop').map((i) => i.id));
  const missing = exitItems(policy.catalogue, resource).filter((id) => !dropped.has(id) && !sent.has(id));
  return missing.length === 0 ? undefined : `${classId}: the grant does not name ${missing.join(', ')}`;
}
