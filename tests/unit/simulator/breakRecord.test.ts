import { describe, expect, it } from 'vitest';
import { decodeRecord, RECORD_FAULTS } from '../../../engine/contract/decodeRecord.ts';
import { STREAM_NAMES } from '../../../engine/contract/topics.ts';
import { breakRecord } from '../../../engine/simulator/breakRecord.ts';
import { SeededRandom } from '../../../engine/simulator/SeededRandom.ts';

const TS = Date.parse('2026-11-26T08:00:00+08:00');
const VALID = {
  transport: {
    id: 't-1-1',
    ts: TS,
    vehicle: 'bus-M123-04',
    mode: 'bus',
    route: 'M123',
    lat: 22.54,
    lon: 114.05,
    speed_kmh: 23.4,
    occupancy: 37,
  },
  events: {
    id: 'e-1-1',
    incident_id: 'inc-1-1',
    ts: TS,
    category: 'fire',
    severity: 4,
    lat: 22.54,
    lon: 114.05,
    status: 'open',
    source: 'citizen',
    description: '福华路附近商铺冒烟起火',
    reporter: { name: '王伟', phone: '13812345678' },
  },
  population: {
    id: 'p-1-1',
    ts: TS,
    h3: '88411c0241fffff',
    lat: 22.683348,
    lon: 114.275678,
    present: 5972,
    inflow: 20,
    outflow: 79,
  },
} as const;

describe('breakRecord', () => {
  it('starts from records the contract accepts', () => {
    for (const stream of STREAM_NAMES) {
      expect(decodeRecord(stream, JSON.stringify(VALID[stream]), undefined).ok).toBe(true);
    }
  });

  for (const reason of RECORD_FAULTS) {
    it(`breaks records of every stream so that they are dead-lettered as ${reason}`, () => {
      const random = new SeededRandom(1);
      for (const stream of STREAM_NAMES) {
        // Several draws: each reason has more than one way of going wrong.
        for (let i = 0; i < 40; i++) {
          const value = breakRecord(stream, VALID[stream], reason, random);
          const decoded = decodeRecord(stream, value === '' ? null : value, undefined);
          expect(decoded.ok ? 'accepted' : decoded.reason, `${stream}: ${value.slice(0, 200)}`).toBe(reason);
        }
      }
    });
  }

  it('does not change the record it is given', () => {
    const record = structuredClone(VALID.transport);
    breakRecord('transport', record, 'missing_field', new SeededRandom(2));
    breakRecord('transport', record, 'impossible_coordinates', new SeededRandom(2));
    expect(record).toEqual(VALID.transport);
  });
});
