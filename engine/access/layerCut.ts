import { type Projection, project, projectRecord } from '../catalogue/projection.ts';
import { layerOfTopic } from '../server/protocol.ts';
import { type AccessPolicy, LAYER_CLASSES, refusalOf } from './exits.ts';

/**
 * A department's part of a layer's entities: the items its projection lets out, each masked by its rule,
 * the others left out (objects) or null (arrays). `key` names the cut: departments with the same cut share
 * one serialisation of each frame.
 */
export interface FieldCut {
  readonly key: string;
  value(value: unknown): unknown;
}

/**
 * The layers that can go out in part, and how their entities are laid out (engine/server/liveState.ts):
 * - `vehicles`: `[lon, lat, mode, speed_kmh, ts]` under the vehicle's id;
 * - `incidents`: an object of the incident's items under its id, with `impact` (an object of the second
 *   class's items, or null).
 * Every frame shows the entity's key, and the topic names the district (a vehicle that moves shows it
 * again): a cut must name both items, or it is refused. The other layers are unconditional classes, and
 * go out whole or not at all.
 */
const PARTIAL: Partial<Record<string, { needs: readonly string[]; array?: readonly string[] }>> = {
  vehicles: { needs: ['vehicle', 'district'], array: ['lon', 'lat', 'mode', 'speed_kmh', 'ts'] },
  incidents: { needs: ['incident_id', 'district'] },
};

/** What a principal gets of a topic: all of it, a cut, or nothing and why. */
export type TopicAccess = { whole: true } | { cut: FieldCut } | { refused: string };

/** Whether a topic's layer can go out cut (a resumed client's old state may be in another cut). */
export const canBeCut = (topic: string): boolean => PARTIAL[layerOfTopic(topic)] !== undefined;

/** What a department gets of a map topic at `now`: all of it, a cut, or nothing and why. */
export function layerAccess(
  policy: AccessPolicy,
  department: string,
  topic: string,
  now = Date.now(),
): TopicAccess {
  const layer = layerOfTopic(topic);
  const classes = LAYER_CLASSES[layer] ?? [`the layer of ${topic}`];
  const whys = classes.map((c) => refusalOf(policy, department, c, now));
  if (whys.every((why) => why === undefined)) return { whole: true };
  const shape = PARTIAL[layer];
  const [main, extra] = classes.map((c) => project(policy.catalogue, policy.grants(), department, c, now));
  if (shape === undefined || main === undefined) return { refused: whys.find((w) => w !== undefined)! };
  if (main.items.length === 0) return { refused: `${classes[0]}: ${main.reason}` };
  const missing = shape.needs.filter((id) => !main.items.some((i) => i.id === id));
  if (missing.length > 0)
    return {
      refused: `${classes[0]}: the grant does not name ${missing.join(', ')}, which every frame shows`,
    };
  const key = [main, extra].map((p) => p?.items.map((i) => i.id).join(',') ?? '').join('|');
  const array = shape.array;
  if (array !== undefined) return { cut: { key, value: (v) => cutArray(v, array, main) } };
  return { cut: { key, value: (v) => cutIncident(v, main, extra) } };
}

function cutArray(value: unknown, fields: readonly string[], projection: Projection): unknown {
  if (!Array.isArray(value)) return null;
  const out = projectRecord(Object.fromEntries(fields.map((f, i) => [f, value[i]])), projection);
  return fields.map((f) => (f in out ? out[f] : null));
}

function cutIncident(value: unknown, main: Projection, impact: Projection | undefined): unknown {
  if (value === null || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  // The item `incident_id` is the entity's key; `id` repeats it in the value.
  const out = projectRecord(record, main);
  const nested = record['impact'];
  out['impact'] =
    nested !== null && typeof nested === 'object' && impact !== undefined && impact.items.length > 0
      ? projectRecord(nested as Record<string, unknown>, impact)
      : null;
  return out;
}
