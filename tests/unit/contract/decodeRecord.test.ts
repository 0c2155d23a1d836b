import { describe, expect, it } from 'vitest';
import { decodeRecord, recordClock } from '../../../engine/contract/decodeRecord.ts';
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
      [{ ...bus, ts: sent + 121_000 }, 'clock_skew', /more than 120 s after the exchange took the record/],
      [{ ...bus, ts: sent - 91 * 86_400_000 }, 'too_old', /more than 90 days before/],
      [{ ...bus, id: 'a\u202eb' }, 'invalid_value', /^id: must not contain control, format/],
      [{ ...bus, vehicle: 'B\u200b1' }, 'invalid_value', /^vehicle: must not contain/],
      [{ ...bus, route: 'M\u2028' }, 'invalid_value', /^route: must not contain/],
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

describe('decodeRecord: cells and clocks a hostile or broken sender can send', () => {
  const population = (h3: string) => ({ id: 'p', ts: sent, h3, present: 3, inflow: 1, outflow: 0 });

  it('refuses an H3 value that is 15 hex digits but not a cell of resolution 8', () => {
    for (const h3 of [
      'fffffffffffffff',
      '000000000000000',
      '8f411c1a8bfffff',
      '89411c1a8bbffff',
      '88411c1a8bffff0',
    ]) {
      const result = decode(population(h3), 'population');
      expect(result, h3).toMatchObject({ ok: false, reason: 'invalid_value' });
      if (!result.ok) expect(result.detail).toMatch(/^h3: must be a valid H3 cell of resolution 8/);
    }
  });

  it('judges event time against the ingest clock, whatever the message timestamp says', () => {
    const now = Date.UTC(2026, 11, 3, 8, 0, 0);
    const clock = recordClock(now);
    const at = (ts: number, messageTs: number | undefined) =>
      decodeRecord('transport', JSON.stringify({ ...bus, ts }), messageTs, clock);
    const in2099 = Date.UTC(2099, 0, 1);
    // No timestamp, a zero one, one forged into the future: the engine's clock is the limit.
    for (const messageTs of [undefined, 0, in2099 + 1, now + 3_600_000])
      expect(at(in2099, messageTs), String(messageTs)).toMatchObject({ ok: false, reason: 'clock_skew' });
    expect(at(now + 119_000, 0)).toMatchObject({ ok: true });
    expect(at(now + 121_000, 0)).toMatchObject({ ok: false, reason: 'clock_skew' });
    // An append time before now (a replay, or a backlog) is the reference: the same verdict on every run.
    const appended = now - 86_400_000;
    expect(at(appended + 121_000, appended)).toMatchObject({ ok: false, reason: 'clock_skew' });
    expect(at(appended + 60_000, appended)).toMatchObject({ ok: true });
    expect(at(now - 89 * 86_400_000, 0)).toMatchObject({ ok: true });
    expect(at(now - 91 * 86_400_000, 0)).toMatchObject({ ok: false, reason: 'too_old' });
  });
});
