import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { diffCatalogues } from '../../../engine/catalogue/catalogueDiff.ts';
import { generateCatalogueYaml } from '../../../engine/catalogue/generateCatalogue.ts';
import { parseCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { deniedItems, exitItems, matchesPattern } from '../../../engine/catalogue/negativeList.ts';

const BASE = {
  version: 1,
  departments: [
    { id: 'transport', name_en: 'Transport Bureau', name_zh: '交通运输局' },
    { id: 'health', name_en: 'Health Commission', name_zh: '卫生健康委员会' },
  ],
  negative_list: [{ id: 'phones', legal_basis: 'personal data', resources: ['*'], items: ['*_phone'] }],
  resources: [
    {
      id: 'buses',
      name_en: 'Buses',
      name_zh: '公交',
      provider: 'transport',
      layer: 'input',
      source: 'topic city.transport',
      update_cycle: 'realtime',
      sharing: 'unconditional',
      share_method: 'stream',
      items: [{ id: 'vehicle' }, { id: 'driver_phone', masking: 'mask_phone' }, { id: 'lat' }],
    },
  ],
};

function withResource(change: Record<string, unknown>) {
  return { ...BASE, resources: [{ ...BASE.resources[0]!, ...change }] };
}

function problemsOf(value: unknown): string {
  try {
    parseCatalogue(stringify(value), 'catalogue.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  return 'valid';
}

describe('catalogue rules', () => {
  it('holds a negative-list item back even from a class shared unconditionally', () => {
    const { catalogue } = parseCatalogue(stringify(BASE));
    const buses = catalogue.resources[0]!;
    expect(exitItems(catalogue, buses)).toEqual(['vehicle', 'lat']);
    expect(deniedItems(catalogue, buses).get('driver_phone')?.id).toBe('phones');
  });

  it('lets nothing out of a class that is not shared', () => {
    const { catalogue } = parseCatalogue(
      stringify(withResource({ sharing: 'none', legal_basis: 'a rule of the provider' })),
    );
    expect(exitItems(catalogue, catalogue.resources[0]!)).toEqual([]);
  });

  it('matches patterns whole, with * for any run and other characters literal', () => {
    expect(matchesPattern('*_phone', 'driver_phone')).toBe(true);
    expect(matchesPattern('*_phone', 'driver_phone_2')).toBe(false);
    expect(matchesPattern('reporter.*', 'reporter.name')).toBe(true);
    expect(matchesPattern('reporter.*', 'reporterXname')).toBe(false);
    expect(matchesPattern('lat', 'latitude')).toBe(false);
  });

  it('reports every problem at once, each with its line and field', () => {
    const message = problemsOf({
      ...withResource({ sharing: 'conditional', provider: 'nobody' }),
      departments: [...BASE.departments, BASE.departments[0]],
    });
    expect(message).toContain('4 problems');
    expect(message).toMatch(
      /catalogue\.yaml:\d+:\d+: resources\.0\.condition: a conditional class states its condition/,
    );
    expect(message).toMatch(/resources\.0\.legal_basis: a class shared 'conditional' states the legal basis/);
    expect(message).toMatch(
      /catalogue\.yaml:\d+:\d+: departments\.2\.id: department 'transport' is listed twice/,
    );
    expect(message).toMatch(/catalogue\.yaml:\d+:\d+: resources\.0\.provider: 'nobody' is not a department/);
  });

  it('refuses unknown fields, unknown masking rules and a repeated item', () => {
    expect(problemsOf(withResource({ sharring: 'none' }))).toMatch(/Unrecognized key.*sharring/);
    expect(problemsOf(withResource({ items: [{ id: 'a', masking: 'blur' }] }))).toMatch(/items\.0\.masking/);
    expect(problemsOf(withResource({ items: [{ id: 'a' }, { id: 'a' }] }))).toMatch(
      /item 'a' is listed twice/,
    );
    expect(problemsOf(withResource({ update_cycle: 'often' }))).toMatch(/realtime, or a period/);
    expect(problemsOf(withResource({ items: [{ id: 'reporter' }, { id: 'reporter.name' }] }))).toMatch(
      /'reporter\.name' is inside item 'reporter', which is listed too/,
    );
  });

  it('says what changed between two versions', () => {
    const before = parseCatalogue(stringify(BASE)).catalogue;
    const after = parseCatalogue(
      stringify(
        withResource({
          sharing: 'conditional',
          condition: 'a stated purpose',
          legal_basis: 'a rule',
          items: [{ id: 'vehicle' }, { id: 'driver_phone', masking: 'drop' }, { id: 'speed' }],
        }),
      ),
    ).catalogue;
    expect(diffCatalogues(before, after)).toEqual([
      '~ class buses: sharing "unconditional" -> "conditional"',
      '~ class buses: condition undefined -> "a stated purpose"',
      '~ class buses: legal_basis undefined -> "a rule"',
      '~ item buses.driver_phone: masking mask_phone -> drop',
      '+ item buses.speed (masking none)',
      '- item buses.lat',
    ]);
    expect(diffCatalogues(before, before)).toEqual([]);
  });

  it('reads a generated catalogue with every count it was made with (the seed’s scale is bench:catalogue)', () => {
    const { catalogue } = parseCatalogue(
      generateCatalogueYaml({ departments: 71, classes: 431, items: 12_970 }),
    );
    expect(catalogue.departments).toHaveLength(71);
    expect(catalogue.resources).toHaveLength(431);
    expect(catalogue.resources.reduce((n, r) => n + r.items.length, 0)).toBe(12_970);
    expect(exitItems(catalogue, catalogue.resources[0]!)).toEqual([]);
  });
});
