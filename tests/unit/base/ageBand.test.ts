import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ageBand } from '../../../engine/contract/baseLibraries.ts';
import { bandAt, ymd } from '../../helpers/baseRecount.ts';

const DAY_MS = 86_400_000;
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

describe('ageBand', () => {
  it('equals the recount’s calendar definition for any birth day and time, 29 February included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1900, 0, 1) / DAY_MS, max: Date.UTC(2030, 0, 1) / DAY_MS }),
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
        (birthDay, atMs) => {
          expect(ageBand(birthDay, atMs)).toBe(bandAt(ymd(isoDay(birthDay)), atMs));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('turns 14 and 65 on the birthday in Shenzhen, and a 29 February child on 1 March', () => {
    const born = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
    const shenzhen = (dateTime: string) => Date.parse(`${dateTime}+08:00`);
    expect(ageBand(born('2012-12-08'), shenzhen('2026-12-07T23:59:59'))).toBe('under_14');
    expect(ageBand(born('2012-12-08'), shenzhen('2026-12-08T00:00:00'))).toBe('from_14_to_64');
    expect(ageBand(born('1961-12-08'), shenzhen('2026-12-08T00:00:00'))).toBe('from_65');
    expect(ageBand(born('2012-02-29'), shenzhen('2026-02-28T12:00:00'))).toBe('under_14');
    expect(ageBand(born('2012-02-29'), shenzhen('2026-03-01T00:00:00'))).toBe('from_14_to_64');
    expect(ageBand(born('2012-02-29'), shenzhen('2028-02-29T00:00:00'))).toBe('from_14_to_64');
  });
});
