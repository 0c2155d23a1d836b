import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECORD_SCHEMAS, TRANSPORT_MODES } from '../../../engine/contract/exchangeRecords.ts';
import { fastAccept } from '../../../engine/contract/fastAccept.ts';
import { simulateCity } from '../../../engine/simulator/simulateCity.ts';

/** Values near and across every bound of the contract, of every JSON type. */
const anyValue = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      null,
      true,
      0,
      -0,
      1,
      -1,
      0.5,
      90,
      90.0001,
      -90,
      -90.0001,
      180,
      180.5,
      -180,
      400,
      400.1,
      10_000,
      10_001,
      10_000_000,
      10_000_001,
      2 ** 53,
      1_795_600_000_000,
      '',
      'x',
      'a\u0007b',
      'x'.repeat(128),
      'x'.repeat(129),
      '2026-11-26T08:00:00+08:00',
      '2026-11-26T08:00:00',
      '2026-11-26 08:00:00Z',
      '1795600000000',
      '88411c8a8bfffff',
      '88411C8A8BFFFFF',
      '88411c8a8bffff',
      ...TRANSPORT_MODES,
      'plane',
    ),
  },
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.constant([]),
  fc.constant({}),
);

/** A record built from a valid base with some fields replaced, removed, or extra ones added. */
function mutated(base: Record<string, unknown>, extraKeys: string[]) {
  const keys = [...Object.keys(base), ...extraKeys];
  return fc
    .record({
      replace: fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 3 }),
      drop: fc.subarray(Object.keys(base), { maxLength: 2 }),
    })
    .map(({ replace, drop }) => {
      // Through JSON, as the engine gets it (so -0 and the like are what JSON.parse makes of them).
      const record: Record<string, unknown> = JSON.parse(JSON.stringify({ ...base, ...replace }));
      for (const key of drop) delete record[key];
      return record;
    });
}

const TRANSPORT = {
  id: 't-1',
  ts: 1_795_600_000_000,
  vehicle: 'bus-12',
  mode: 'bus',
  route: 'M12',
  lat: 22.55,
  lon: 114.05,
  speed_kmh: 31.5,
  occupancy: 40,
};
const POPULATION = {
  id: 'p-1',
  ts: '2026-11-26T08:00:00+08:00',
  lat: 22.55,
  lon: 114.05,
  h3: '88411c8a8bfffff',
  present: 1200,
  inflow: 30,
  outflow: 12,
};

describe('fastAccept: accepts only what the zod schema accepts, with the same result', () => {
  for (const [stream, base] of [
    ['transport', TRANSPORT],
    ['population', POPULATION],
  ] as const) {
    it(`${stream}: generated records near every bound`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(mutated(base, ['extra', '__proto__', 'reporter']), (record) => {
          const fast = fastAccept(stream, record);
          if (fast === undefined) return; // zod decides
          accepted += 1;
          const checked = RECORD_SCHEMAS[stream].safeParse(record);
          expect(checked.success).toBe(true);
          expect(fast).toEqual(checked.data);
        }),
        { numRuns: 20_000 },
      );
      // The property is not vacuous: the fast path did accept a good share.
      expect(accepted).toBeGreaterThan(250);
    });
  }

  it('accepts every valid transport and population record of a simulated hour (or the bench would gain nothing)', () => {
    let checked = 0;
    for (const m of simulateCity({
      seed: 5,
      start: '2026-11-26T08:00:00+08:00',
      duration: '1h',
      events: 20_000,
    })) {
      if (m.kind === 'invalid' || m.stream === 'events') continue;
      const record = JSON.parse(m.value);
      expect(fastAccept(m.stream, record), m.value).toEqual(RECORD_SCHEMAS[m.stream].parse(record));
      checked += 1;
    }
    expect(checked).toBeGreaterThan(15_000);
  });

  it('leaves events to zod', () => {
    expect(fastAccept('events', { ...TRANSPORT })).toBeUndefined();
  });
});
