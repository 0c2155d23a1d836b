import { stringify } from 'yaml';
import { MASKING_RULES, SHARING_CLASSES, UPDATE_CYCLES_SAMPLE } from './catalogueSchema.ts';

/** The seed's scale: 61 units and 10 districts publish 4,308 resource classes with 129,700 data items. */
export const SEED_SCALE = { departments: 71, classes: 4_308, items: 129_700 } as const;

/**
 * A synthetic catalogue of the given size, as YAML text, deterministic: departments `dept-NN`, classes
 * spread over them with the items spread evenly, every sharing class and masking rule used, and a negative
 * list of three rules. For the scale benchmark (bench:catalogue) and tests; not a model of any real city.
 */
export function generateCatalogueYaml(
  size: { departments: number; classes: number; items: number } = SEED_SCALE,
): string {
  const departments = Array.from({ length: size.departments }, (_, d) => ({
    id: `dept-${d}`,
    name_en: `Department ${d}`,
    name_zh: `部门${d}`,
  }));
  const resources = Array.from({ length: size.classes }, (_, c) => {
    const sharing = SHARING_CLASSES[c % SHARING_CLASSES.length]!;
    const count =
      Math.floor(((c + 1) * size.items) / size.classes) - Math.floor((c * size.items) / size.classes);
    return {
      id: `class-${c}`,
      name_en: `Resource class ${c}`,
      name_zh: `资源${c}`,
      provider: `dept-${c % size.departments}`,
      layer: 'input',
      source: `topic exchange.class-${c}`,
      update_cycle: UPDATE_CYCLES_SAMPLE[c % UPDATE_CYCLES_SAMPLE.length]!,
      sharing,
      share_method: 'api',
      ...(sharing === 'conditional' ? { condition: 'a stated purpose, approved by the provider' } : {}),
      ...(sharing !== 'unconditional' ? { legal_basis: 'a rule of the provider (synthetic)' } : {}),
      items: Array.from({ length: count }, (_, i) => ({
        id: i % 17 === 0 ? `person_phone_${i}` : `item_${i}`,
        masking: MASKING_RULES[i % MASKING_RULES.length]!,
      })),
    };
  });
  const negative_list = [
    { id: 'phones', legal_basis: 'personal data (synthetic)', resources: ['*'], items: ['person_phone_*'] },
    { id: 'class-0-all', legal_basis: 'a withheld class (synthetic)', resources: ['class-0'], items: ['*'] },
    { id: 'tens', legal_basis: 'withheld items (synthetic)', resources: ['class-1*'], items: ['item_1*'] },
  ];
  return stringify({ version: 1, departments, resources, negative_list });
}
