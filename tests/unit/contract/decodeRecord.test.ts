import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../engine/contract/decodeRecord.ts';
import { MAX_RECORD_BYTES } from '../../../engine/contract/exchangeRecords.ts';

const sent = Date.UTC(2026, 10, 27, 8, 0, 0);
const bus = {
  id: 't-1',
  ts: sent - 1_000,
  vehicle: 'B-1',
  mode: 'bus',
  lat: 22.54,
  lon: 114.05,
  speed_kmh: 31.5,
};
const decode = (value: unknown, stream: 'transport' | 'events' | 'population' = 'transport') =>
  decodeRecord(stream, typeof value === 'string' ? value : JSON.stringify(value), sent);

describe('decodeRecord', () => {
  it('accepts valid records of each stream, with epoch or ISO-8601 times', () => {
    expect(decode(bus)).toMatchObject({ ok: true, ts: sent - 1_000 });
    expect(decode({ ...bus, ts: '2026-11-27T15:59:00+08:00' })).toMatchObject({
      ok: true,
      ts: sent - 60_000,
    });
    expect(
      decode(
        { id: 'e', ts: sent, category: 'fire', severity: 5, lat: 22.5, lon: 114, status: 'open' },
        'events',
      ),
    ).toMatchObject({ ok: true });
    expect(
      decode({ id: 'p', ts: sent, h3: '88411c1a8bfffff', present: 3, inflow: 1, outflow: 0 }, 'population'),
    ).toMatchObject({
      ok: true,
    });
  });

  it('gives each kind of bad record its reason and names the field', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      ['', 'empty', /no value/],
      ['{"id":', 'invalid_json', /JSON/],
      ['[1]', 'not_an_object', /array/],
      [{ ...bus, vehicle: undefined }, 'missing_field', /^vehicle/],
      [{ ...bus, lat: '22.5' }, 'wrong_type', /^lat/],
      [{ ...bus, mode: 'zeppelin' }, 'invalid_value', /^mode/],
      [{ ...bus, lat: 95 }, 'impossible_coordinates', /^lat/],
      [{ ...bus, lat: 0, lon: 0 }, 'impossible_coordinates', /null island|broken GPS/],
      [{ ...bus, ts: Date.UTC(1970, 0, 2) }, 'impossible_timestamp', /between 2000 and 2100/],
      [{ ...bus, ts: sent + 2 * 3_600_000 }, 'impossible_timestamp', /after the message was sent/],
      [{ ...bus, ts: 'yesterday' }, 'invalid_value', /^ts/],
      [JSON.stringify({ ...bus, route: 'x'.repeat(MAX_RECORD_BYTES) }), 'oversized', /limit/],
    ];
    for (const [value, reason, detail] of cases) {
      const result = decode(value);
      expect(result.ok, JSON.stringify(value).slice(0, 80)).toBe(false);
      if (!result.ok) {
        expect(result.reason).toBe(reason);
        expect(result.detail).toMatch(detail);
      }
    }
  });
});
