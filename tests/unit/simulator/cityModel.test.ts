import { cellToParent, getResolution, isValidCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { buildCityModel, POPULATION_H3_RESOLUTION } from '../../../engine/simulator/cityModel.ts';
import { fakeIdNumber, fakePhone, fakeReporter } from '../../../engine/simulator/fakeReporter.ts';
import { SeededRandom } from '../../../engine/simulator/SeededRandom.ts';

describe('buildCityModel', () => {
  const city = buildCityModel(1);
  const { index } = city.geography;

  it('is the same city for the same seed', () => {
    expect(buildCityModel(1)).toBe(city);
    expect(city.fleet.length).toBeGreaterThan(5_000);
    expect(new Set(city.fleet.map((v) => v.id)).size).toBe(city.fleet.length);
  });

  it('runs metro lines and bus routes through every district, all of their points inside the city', () => {
    const metro = city.routes.filter((r) => r.mode === 'metro').map((r) => r.id);
    expect(metro).toEqual(['L1', 'L2', 'L3', 'L4', 'L5', 'L11']);
    expect(city.routes.filter((r) => r.mode === 'bus').length).toBeGreaterThan(150);
    const touched = new Set<string>();
    let outside = 0;
    for (const route of city.routes) {
      for (let i = 0; i < route.lngs.length; i += 4) {
        const district = index.lookup(route.lngs[i]!, route.lats[i]!);
        if (district === null) outside++;
        else touched.add(district);
      }
    }
    expect(outside).toBe(0);
    expect(touched.size).toBe(8);
  });

  it('covers the city with resolution-8 H3 cells, each in its district, about 18 million residents', () => {
    expect(city.cells.length).toBeGreaterThan(2_500);
    const residents = city.cells.reduce((sum, c) => sum + c.residents, 0);
    expect(residents / 1e6).toBeCloseTo(18, 0);
    const wrong = city.cells.filter(
      (c) =>
        !isValidCell(c.cell) ||
        getResolution(c.cell) !== POPULATION_H3_RESOLUTION ||
        index.lookup(c.lng, c.lat) !== city.districtCodes[c.district],
    );
    expect(wrong).toEqual([]);
    expect(new Set(city.cells.map((c) => cellToParent(c.cell, 5))).size).toBeGreaterThan(5);
    // Business cells (more workers than residents) exist around the centres.
    expect(city.cells.filter((c) => c.workers > c.residents).length).toBeGreaterThan(20);
  });

  it('keeps points just outside the city for positions outside every district', () => {
    expect(city.outsidePoints.length).toBe(3_000);
    for (let i = 0; i < city.outsidePoints.length; i += 2) {
      expect(index.lookup(city.outsidePoints[i]!, city.outsidePoints[i + 1]!)).toBeNull();
    }
  });
});

describe('fakeReporter', () => {
  it('formats names, mobile numbers and resident ID numbers like real ones', () => {
    const random = new SeededRandom(9);
    for (let i = 0; i < 200; i++) {
      const reporter = fakeReporter(random);
      expect(reporter.name).toMatch(/^[\u4e00-\u9fff]{2,3}$/);
      expect(fakePhone(random)).toMatch(/^1[3-9]\d{9}$/);
      const id = fakeIdNumber(random);
      expect(id).toMatch(/^\d{6}(19[5-9]\d|200[0-4])(0[1-9]|1[0-2])(0[1-9]|[12]\d)\d{3}[\dX]$/);
      // ISO 7064 MOD 11-2: the weighted sum including the check character is 1 mod 11.
      const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
      const sum = weights.reduce((s, w, k) => s + w * Number(id[k]), 0);
      expect('10X98765432'[sum % 11]).toBe(id[17]);
    }
  });
});
