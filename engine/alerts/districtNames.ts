/**
 * English and Chinese names of Shenzhen's districts by administrative code, for alert titles. A code that is
 * not listed (e.g. 'outside') is shown as is.
 */
export const DISTRICT_NAMES: Readonly<Record<string, { readonly en: string; readonly zh: string }>> = {
  '440303': { en: 'Luohu', zh: '罗湖区' },
  '440304': { en: 'Futian', zh: '福田区' },
  '440305': { en: 'Nanshan', zh: '南山区' },
  '440306': { en: "Bao'an", zh: '宝安区' },
  '440307': { en: 'Longgang', zh: '龙岗区' },
  '440308': { en: 'Yantian', zh: '盐田区' },
  '440309': { en: 'Longhua', zh: '龙华区' },
  '440310': { en: 'Pingshan', zh: '坪山区' },
  '440311': { en: 'Guangming', zh: '光明区' },
  '440312': { en: 'Dapeng', zh: '大鹏新区' },
};

/** The names of a district code, falling back to the code itself. */
export function districtName(code: string | undefined): { en: string; zh: string } {
  if (code === undefined) return { en: 'the city', zh: '全市' };
  return DISTRICT_NAMES[code] ?? { en: code, zh: code };
}
