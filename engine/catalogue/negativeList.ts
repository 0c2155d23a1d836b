import type { Catalogue, DenyRule, ResourceClass } from './catalogueSchema.ts';

/** Whether `id` matches a catalogue pattern, where `*` stands for any run of characters. */
export function matchesPattern(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  const parts = pattern.split('*').map((p) => p.replace(/[.\\^$+?()[\]{}|-]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(id);
}

/** The deny rules of the negative list that hold an item of a resource class back, by item id. */
export function deniedItems(catalogue: Catalogue, resource: ResourceClass): Map<string, DenyRule> {
  const denied = new Map<string, DenyRule>();
  for (const rule of catalogue.negative_list) {
    if (!rule.resources.some((p) => matchesPattern(p, resource.id))) continue;
    for (const item of resource.items)
      if (!denied.has(item.id) && rule.items.some((p) => matchesPattern(p, item.id)))
        denied.set(item.id, rule);
  }
  return denied;
}

/**
 * The items of a resource class that may leave the restricted layer at all, before any grant is looked
 * at: none for a class that is not shared, and never an item on the negative list. A grant can only
 * narrow this further.
 */
export function exitItems(catalogue: Catalogue, resource: ResourceClass): string[] {
  if (resource.sharing === 'none') return [];
  const denied = deniedItems(catalogue, resource);
  return resource.items.filter((item) => !denied.has(item.id)).map((item) => item.id);
}
