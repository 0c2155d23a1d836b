import type { Catalogue, DenyRule, ResourceClass } from './catalogueSchema.ts';

const COMPILED = new Map<string, RegExp>();

/** Whether `id` matches a catalogue pattern, where `*` stands for any run of characters. */
export function matchesPattern(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  // Compiled once per pattern: the exits judge every open subscription every few seconds.
  let compiled = COMPILED.get(pattern);
  if (compiled === undefined) {
    const parts = pattern.split('*').map((p) => p.replace(/[.\\^$+?()[\]{}|-]/g, '\\$&'));
    compiled = new RegExp(`^${parts.join('.*')}$`);
    if (COMPILED.size < 10_000) COMPILED.set(pattern, compiled);
  }
  return compiled.test(id);
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
  let known = EXIT_ITEMS.get(catalogue);
  if (known === undefined) {
    known = new Map();
    EXIT_ITEMS.set(catalogue, known);
  }
  let items = known.get(resource);
  if (items === undefined) {
    const denied = deniedItems(catalogue, resource);
    items =
      resource.sharing === 'none'
        ? []
        : resource.items.filter((item) => !denied.has(item.id)).map((item) => item.id);
    known.set(resource, items);
  }
  return [...items];
}

/** Per catalogue (a reload is a new object) and class: the items that may leave, computed once. */
const EXIT_ITEMS = new WeakMap<Catalogue, Map<ResourceClass, string[]>>();
