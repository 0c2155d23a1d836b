import { describe, expect, it } from 'vitest';
import { shenzhenDistricts } from '../../../engine/geo/shenzhenDistricts.ts';

describe('shenzhenDistricts', () => {
  it('loads the eight districts of the vendored data with names and WGS84 label points inside them', () => {
    const { districts, index, byCode } = shenzhenDistricts();
    expect(districts.map((d) => [d.code, d.nameEn])).toEqual([
      ['440303', 'Luohu'],
      ['440304', 'Futian'],
      ['440305', 'Nanshan'],
      ['440306', "Bao'an"],
      ['440307', 'Longgang'],
      ['440308', 'Yantian'],
      ['440309', 'Longhua'],
      ['440310', 'Pingshan'],
    ]);
    expect(byCode.get('440304')?.nameZh).toBe('福田区');
    for (const d of districts) expect(index.lookup(d.labelPoint[0], d.labelPoint[1])).toBe(d.code);
  });

  it("reports Guangming inside Bao'an and Dapeng inside Longgang (the data predates their split)", () => {
    const { index } = shenzhenDistricts();
    expect(index.lookup(113.935, 22.748)).toBe('440306'); // Guangming centre
    expect(index.lookup(114.48, 22.595)).toBe('440307'); // Dapeng centre
  });

  it('is loaded once and cached', () => {
    expect(shenzhenDistricts()).toBe(shenzhenDistricts());
  });
});
