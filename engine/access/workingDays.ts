import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config/environment.ts';
import { parseYamlConfig } from '../config/yamlConfig.ts';
import { CityOpsError } from '../errors.ts';
import { CITY_OFFSET_MS, DAY_MS } from './cityCalendar.ts';

export const DEFAULT_HOLIDAYS = join(PROJECT_ROOT, 'config', 'holidays.yaml');

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');
const HolidayFile = z.strictObject({
  version: z.literal(1),
  years: z.record(
    z.string().regex(/^\d{4}$/, 'a year'),
    z.strictObject({
      source: z.string().min(1),
      holidays: z.array(z.strictObject({ from: Day, to: Day, name: z.string().min(1) })),
      working_days: z.array(Day).default([]),
    }),
  ),
});

/**
 * Working days on the city's calendar: Monday to Friday, less the public holidays, plus the weekend days the
 * State Council names as working days. Years the file does not list count Monday to Friday only.
 */
export class WorkingCalendar {
  readonly #holidays = new Set<string>();
  readonly #workingWeekends = new Set<string>();
  readonly #years = new Set<number>();

  constructor(file: z.infer<typeof HolidayFile>, path: string) {
    for (const [year, entry] of Object.entries(file.years)) {
      this.#years.add(Number(year));
      for (const { from, to, name } of entry.holidays) {
        const [start, end] = [Date.parse(`${from}T00:00:00Z`), Date.parse(`${to}T00:00:00Z`)];
        if (!(start <= end) || end - start > 31 * DAY_MS || !(from.startsWith(year) || to.startsWith(year)))
          throw refused(
            path,
            `${year}: holiday ${name} runs ${from}..${to}, which is not a range of at most a month touching ${year}`,
          );
        for (let day = start; day <= end; day += DAY_MS) this.#holidays.add(isoDay(day));
      }
      for (const day of entry.working_days) {
        const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
        if (weekday !== 0 && weekday !== 6)
          throw refused(
            path,
            `${year}: working day ${day} is a weekday already; only weekend days are listed`,
          );
        this.#workingWeekends.add(day);
      }
    }
  }

  /** Whether the city's calendar covers `year` (the State Council's notice for it is in the file). */
  covers(year: number): boolean {
    return this.#years.has(year);
  }

  /** Whether the city day holding `at` (epoch ms) is a working day. */
  isWorkingDay(at: number): boolean {
    const local = at + CITY_OFFSET_MS;
    const day = isoDay(local);
    if (this.#holidays.has(day)) return false;
    if (this.#workingWeekends.has(day)) return true;
    const weekday = new Date(local).getUTCDay();
    return weekday !== 0 && weekday !== 6;
  }

  /** `from` plus `days` working days, at the same time of day. */
  addWorkingDays(from: number, days: number): number {
    let at = from;
    let left = days;
    while (left > 0) {
      at += DAY_MS;
      if (this.isWorkingDay(at)) left -= 1;
    }
    return at;
  }
}

function isoDay(utcMs: number): string {
  return new Date(utcMs).toISOString().slice(0, 10);
}

function refused(path: string, problem: string): CityOpsError {
  return new CityOpsError('CONFIG_INVALID', `invalid holiday file ${path}: ${problem}`, {
    hint: 'config/holidays.yaml describes each field',
  });
}

/** Reads and checks a holiday file (small: read synchronously, once per process by `cityCalendar()`). */
export function loadWorkingCalendar(path = DEFAULT_HOLIDAYS): WorkingCalendar {
  const parsed = parseYamlConfig(readFileSync(path, 'utf8'), path, HolidayFile);
  if (!parsed.ok) throw refused(path, `\n  ${parsed.problems.join('\n  ')}`);
  return new WorkingCalendar(parsed.data, path);
}

let shipped: WorkingCalendar | undefined;
/** The shipped calendar (config/holidays.yaml). */
export function cityWorkingCalendar(): WorkingCalendar {
  shipped ??= loadWorkingCalendar();
  return shipped;
}
