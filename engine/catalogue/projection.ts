import { z } from 'zod';
import { maskFreeText, maskIdNumber, maskName, maskPhone } from '../privacy/mask.ts';
import { type Catalogue, type MaskingRule, Pattern } from './catalogueSchema.ts';
import { exitItems, matchesPattern } from './negativeList.ts';

/**
 * A grant: department `department` may receive `items` (patterns) of the conditional resource class
 * `resource`, for `purpose`, from `valid_from` until `valid_until` (exclusive), unless revoked earlier.
 */
export const GrantSchema = z
  .strictObject({
    id: z.string().min(1),
    department: z.string().min(1),
    resource: z.string().min(1),
    items: z.array(Pattern).min(1),
    purpose: z.string().min(1),
    approved_by: z.string().min(1),
    valid_from: z.iso.datetime({ offset: true }),
    valid_until: z.iso.datetime({ offset: true }),
    revoked_at: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((g) => Date.parse(g.valid_until) > Date.parse(g.valid_from), {
    path: ['valid_until'],
    message: 'valid_until must be after valid_from',
  });
export type Grant = z.infer<typeof GrantSchema>;

/** A grants file (`config/grants.example.yaml`): until grants live in ClickHouse, where they are kept. */
export const GrantsFileSchema = z.strictObject({ version: z.literal(1), grants: z.array(GrantSchema) });

/** Whether a grant is in force at `now` (epoch ms). */
export function isLive(grant: Grant, now: number): boolean {
  const revoked = grant.revoked_at === undefined ? Number.POSITIVE_INFINITY : Date.parse(grant.revoked_at);
  return Date.parse(grant.valid_from) <= now && now < Math.min(Date.parse(grant.valid_until), revoked);
}

export interface ProjectedItem {
  readonly id: string;
  readonly masking: MaskingRule;
}

export interface Projection {
  /** The items the department receives, each with the masking it is written with; empty when none. */
  readonly items: readonly ProjectedItem[];
  /** Why nothing, or less than every item, goes out. */
  readonly reason:
    | 'unconditional'
    | 'granted'
    | 'provider'
    | 'not shared'
    | 'no live grant'
    | 'unknown class';
}

/**
 * What one department may receive of one resource class at `now`: the one projection every exit applies
 * (WebSocket layers, the history API, webhooks, the department's ClickHouse database).
 * - The negative list and the `none` sharing class come first: those items never go out.
 * - An unconditional class goes out whole (less the negative list); so does a class to its own provider.
 * - A conditional class goes out only in the items that a live grant of this department names.
 * - An item masked `drop` never goes out.
 */
export function project(
  catalogue: Catalogue,
  grants: readonly Grant[],
  department: string,
  resourceId: string,
  now: number,
): Projection {
  const resource = catalogue.resources.find((r) => r.id === resourceId);
  if (resource === undefined) return { items: [], reason: 'unknown class' };
  if (resource.sharing === 'none') return { items: [], reason: 'not shared' };
  const open = new Set(exitItems(catalogue, resource));
  const items = (ids: (id: string) => boolean) =>
    resource.items
      .filter((i) => open.has(i.id) && i.masking !== 'drop' && ids(i.id))
      .map((i) => ({ id: i.id, masking: i.masking }));
  if (resource.sharing === 'unconditional') return { items: items(() => true), reason: 'unconditional' };
  if (resource.provider === department) return { items: items(() => true), reason: 'provider' };
  const live = grants.filter(
    (g) => g.department === department && g.resource === resourceId && isLive(g, now),
  );
  if (live.length === 0) return { items: [], reason: 'no live grant' };
  return {
    items: items((id) => live.some((g) => g.items.some((p) => matchesPattern(p, id)))),
    reason: 'granted',
  };
}

const MASKS: Record<Exclude<MaskingRule, 'drop'>, (value: string) => string> = {
  none: (value) => value,
  mask_name: maskName,
  mask_phone: maskPhone,
  mask_id_number: maskIdNumber,
  mask_free_text: (value) => maskFreeText(value),
};

/**
 * A record as a projection lets it out: only its items (a nested field is named `parent.child`), each
 * masked by its rule. A masked item that is not a string goes out as null rather than unmasked.
 */
export function projectRecord(
  record: Readonly<Record<string, unknown>>,
  projection: Projection,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of projection.items) {
    const dot = item.id.indexOf('.');
    const value =
      dot < 0
        ? record[item.id]
        : (record[item.id.slice(0, dot)] as Record<string, unknown> | undefined)?.[item.id.slice(dot + 1)];
    if (value === undefined) continue;
    const masked =
      item.masking === 'none' || item.masking === 'drop'
        ? value
        : typeof value === 'string'
          ? MASKS[item.masking](value)
          : null;
    if (dot < 0) out[item.id] = masked;
    else {
      const key = item.id.slice(0, dot);
      const parent = (out[key] ?? {}) as Record<string, unknown>;
      parent[item.id.slice(dot + 1)] = masked;
      out[key] = parent;
    }
  }
  return out;
}
