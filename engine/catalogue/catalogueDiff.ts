import type { Catalogue, ResourceClass } from './catalogueSchema.ts';

/** One difference between two catalogues, as a line a reviewer reads (`+`, `-` or `~` first). */
export type CatalogueChange = string;

/**
 * What changed from `before` to `after`: departments, resource classes and their items added or removed,
 * and every change of a class's sharing, condition, legal basis, provider, update cycle or an item's
 * masking. Logged on a hot reload and printed by `city-ops catalogue diff`.
 */
export function diffCatalogues(before: Catalogue, after: Catalogue): CatalogueChange[] {
  const changes: CatalogueChange[] = [];
  const departmentsBefore = new Set(before.departments.map((d) => d.id));
  const departmentsAfter = new Set(after.departments.map((d) => d.id));
  for (const id of departmentsAfter) if (!departmentsBefore.has(id)) changes.push(`+ department ${id}`);
  for (const id of departmentsBefore) if (!departmentsAfter.has(id)) changes.push(`- department ${id}`);
  const classesBefore = new Map(before.resources.map((r) => [r.id, r]));
  const classesAfter = new Map(after.resources.map((r) => [r.id, r]));
  for (const [id, r] of classesAfter) {
    const old = classesBefore.get(id);
    if (old === undefined) changes.push(`+ class ${id} (${r.sharing}, ${r.items.length} items)`);
    else changes.push(...diffClass(old, r));
  }
  for (const id of classesBefore.keys()) if (!classesAfter.has(id)) changes.push(`- class ${id}`);
  const rulesBefore = new Map(before.negative_list.map((r) => [r.id, JSON.stringify(r)]));
  const rulesAfter = new Map(after.negative_list.map((r) => [r.id, JSON.stringify(r)]));
  for (const [id, rule] of rulesAfter) {
    const old = rulesBefore.get(id);
    if (old === undefined) changes.push(`+ deny rule ${id}`);
    else if (old !== rule) changes.push(`~ deny rule ${id}: ${old} -> ${rule}`);
  }
  for (const id of rulesBefore.keys()) if (!rulesAfter.has(id)) changes.push(`- deny rule ${id}`);
  return changes;
}

const CLASS_FIELDS = [
  'sharing',
  'condition',
  'legal_basis',
  'provider',
  'update_cycle',
  'share_method',
  'layer',
  'source',
] as const;

function diffClass(before: ResourceClass, after: ResourceClass): CatalogueChange[] {
  const changes: CatalogueChange[] = [];
  for (const field of CLASS_FIELDS) {
    if (before[field] !== after[field])
      changes.push(
        `~ class ${after.id}: ${field} ${JSON.stringify(before[field])} -> ${JSON.stringify(after[field])}`,
      );
  }
  const itemsBefore = new Map(before.items.map((i) => [i.id, i]));
  const itemsAfter = new Map(after.items.map((i) => [i.id, i]));
  for (const [id, item] of itemsAfter) {
    const old = itemsBefore.get(id);
    if (old === undefined) changes.push(`+ item ${after.id}.${id} (masking ${item.masking})`);
    else if (old.masking !== item.masking)
      changes.push(`~ item ${after.id}.${id}: masking ${old.masking} -> ${item.masking}`);
  }
  for (const id of itemsBefore.keys()) if (!itemsAfter.has(id)) changes.push(`- item ${after.id}.${id}`);
  return changes;
}
