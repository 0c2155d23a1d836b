import { z } from 'zod';

/**
 * The exchange's catalogue (`config/catalogue.yaml`, docs/catalogue.md): the departments, the resource
 * classes they provide with their data items, how each class is shared, and the negative list. The rules
 * follow the city's catalogue practice: a class has a share type, a share condition, a share method and an
 * update cycle, and any restriction carries its legal basis.
 */

export const SHARING_CLASSES = ['unconditional', 'conditional', 'none'] as const;
export type SharingClass = (typeof SHARING_CLASSES)[number];

/**
 * Where a resource class lives: the exchange's input streams, each layer of the store, the map, the alerts,
 * and the base libraries the streams are read against.
 */
export const RESOURCE_LAYERS = [
  'input',
  'raw',
  'cleaned',
  'windows',
  'joined',
  'marts',
  'map',
  'alerts',
  'base',
] as const;

export const SHARE_METHODS = ['stream', 'table', 'websocket', 'webhook', 'api'] as const;

/**
 * How an item is written wherever it leaves the restricted layer: as it is, masked by one of the city's
 * rules (engine/privacy/mask.ts), or not at all.
 */
export const MASKING_RULES = [
  'none',
  'mask_name',
  'mask_phone',
  'mask_id_number',
  'mask_free_text',
  'drop',
] as const;
export type MaskingRule = (typeof MASKING_RULES)[number];

const Id = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]*$/, 'lower-case letters, digits, and . _ - (starting with a letter)')
  .max(128);

/** A pattern of ids: `*` stands for any run of characters (`transport.*`, `*_phone`). */
export const Pattern = z
  .string()
  .regex(/^[a-z0-9_.*-]+$/, 'lower-case letters, digits, . _ - and * (any run of characters)')
  .max(128);

/** `realtime`, or a period: 30s, 1m, 1h, 1d, 1w. */
export const UPDATE_CYCLES_SAMPLE = ['realtime', '1m', '15m', '1h', '1d', '1w'] as const;

export const UpdateCycle = z
  .string()
  .regex(/^(realtime|\d+[smhdw])$/, 'realtime, or a period such as 1m, 1h, 1d, 1w');

export const DepartmentSchema = z.strictObject({
  id: Id,
  name_en: z.string().min(1),
  name_zh: z.string().min(1),
});

export const ItemSchema = z.strictObject({
  id: Id,
  description: z.string().optional(),
  masking: z.enum(MASKING_RULES).default('none'),
});

export const ResourceClassSchema = z
  .strictObject({
    id: Id,
    name_en: z.string().min(1),
    name_zh: z.string().min(1),
    provider: Id.describe('the department id'),
    layer: z.enum(RESOURCE_LAYERS),
    /** What it is in city-ops: a topic, a table, a map layer or an alert kind. */
    source: z.string().min(1),
    update_cycle: UpdateCycle,
    sharing: z.enum(SHARING_CLASSES),
    share_method: z.enum(SHARE_METHODS),
    /** For a conditional class: what a department must show to receive it. */
    condition: z.string().min(1).optional(),
    /** For a conditional class or one not shared: the law or rule that restricts it. */
    legal_basis: z.string().min(1).optional(),
    items: z.array(ItemSchema).min(1),
  })
  .superRefine((resource, ctx) => {
    if (resource.sharing === 'conditional' && resource.condition === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['condition'],
        message: 'a conditional class states its condition',
      });
    if (resource.sharing !== 'unconditional' && resource.legal_basis === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['legal_basis'],
        message: `a class shared '${resource.sharing}' states the legal basis of the restriction`,
      });
    const ids = new Set(resource.items.map((item) => item.id));
    resource.items.forEach((item, i) => {
      const dot = item.id.indexOf('.');
      // A record is projected field by field: a nested item beside its whole parent would go out twice.
      if (dot > 0 && ids.has(item.id.slice(0, dot)))
        ctx.addIssue({
          code: 'custom',
          path: ['items', i, 'id'],
          message: `'${item.id}' is inside item '${item.id.slice(0, dot)}', which is listed too`,
        });
    });
    listedOnce(resource.items, 'items', 'item', ctx);
  });

/** One issue for each entry whose id an earlier entry of the list has already. */
function listedOnce(
  entries: ReadonlyArray<{ id: string }>,
  list: string,
  what: string,
  ctx: z.core.$RefinementCtx,
): Set<string> {
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (seen.has(entry.id))
      ctx.addIssue({
        code: 'custom',
        path: [list, i, 'id'],
        message: `${what} '${entry.id}' is listed twice`,
      });
    seen.add(entry.id);
  });
  return seen;
}

/** Items that never leave the restricted layer, whatever any grant says: evaluated before every grant. */
export const DenyRuleSchema = z.strictObject({
  id: Id,
  legal_basis: z.string().min(1),
  resources: z.array(Pattern).min(1),
  items: z.array(Pattern).min(1),
});

export const CatalogueSchema = z
  .strictObject({
    version: z.literal(1),
    departments: z.array(DepartmentSchema).min(1),
    resources: z.array(ResourceClassSchema),
    negative_list: z.array(DenyRuleSchema).default([]),
  })
  .superRefine((catalogue, ctx) => {
    const departments = listedOnce(catalogue.departments, 'departments', 'department', ctx);
    listedOnce(catalogue.resources, 'resources', 'resource class', ctx);
    catalogue.resources.forEach((r, i) => {
      if (!departments.has(r.provider))
        ctx.addIssue({
          code: 'custom',
          path: ['resources', i, 'provider'],
          message: `'${r.provider}' is not a department of this catalogue`,
        });
    });
  });

export type Catalogue = z.infer<typeof CatalogueSchema>;
export type ResourceClass = z.infer<typeof ResourceClassSchema>;
export type DenyRule = z.infer<typeof DenyRuleSchema>;
