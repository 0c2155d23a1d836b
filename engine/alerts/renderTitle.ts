import { districtName } from './districtNames.ts';

/** Values a title template may use. */
export interface TitleValues {
  readonly district?: string | undefined;
  readonly cell?: string | undefined;
  readonly category?: string | undefined;
  readonly value: number;
  readonly threshold: number;
}

/**
 * Fills a rule's title template: `{district}` (code), `{district_en}`, `{district_zh}`, `{cell}`,
 * `{category}`, `{value}` and `{threshold}` (rounded to 1 decimal). Unknown placeholders stay as written.
 *
 * @example
 * renderTitle('Traffic slowing in {district_en}: {value} km/h', { district: '440304', value: 12.34, threshold: 15 });
 * // 'Traffic slowing in Futian: 12.3 km/h'
 */
export function renderTitle(template: string, values: TitleValues): string {
  const names = districtName(values.district);
  const replacements: Record<string, string> = {
    district: values.district ?? '',
    district_en: names.en,
    district_zh: names.zh,
    cell: values.cell ?? '',
    category: values.category ?? '',
    value: formatNumber(values.value),
    threshold: formatNumber(values.threshold),
  };
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => replacements[name] ?? whole);
}

function formatNumber(value: number): string {
  return String(Math.round(value * 10) / 10);
}
