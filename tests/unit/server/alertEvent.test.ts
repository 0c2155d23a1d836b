import { describe, expect, it } from 'vitest';
import { parseAlertEvent } from '../../../engine/server/alertEvent.ts';

describe('parseAlertEvent', () => {
  it('reads a structured CloudEvent and tolerates missing fields', () => {
    const alert = parseAlertEvent(
      JSON.stringify({
        specversion: '1.0',
        id: 'e1',
        source: 'city-ops/alerts',
        type: 'city.alert.firing',
        data: { alert_id: 'A1', rule: 'congestion', started_at: '2026-01-01T00:00:00Z', value: '0.9' },
      }),
    );
    expect(alert).toMatchObject({
      alert_id: 'A1',
      state: 'firing',
      rule: 'congestion',
      district: null,
      title_en: null,
      value: 0.9,
      started_at: Date.parse('2026-01-01T00:00:00Z'),
    });
  });

  it('reads a binary-mode CloudEvent (ce_type header) and a resolution', () => {
    const alert = parseAlertEvent(JSON.stringify({ alert_id: 'A2', resolved_at: 42 }), {
      ce_type: Buffer.from('city.alert.resolved'),
    });
    expect(alert).toMatchObject({ alert_id: 'A2', state: 'resolved', resolved_at: 42 });
  });

  it('rejects what is not an alert event', () => {
    expect(parseAlertEvent('not json')).toBeUndefined();
    expect(parseAlertEvent(JSON.stringify({ type: 'other', data: { alert_id: 'x' } }))).toBeUndefined();
    expect(parseAlertEvent(JSON.stringify({ type: 'city.alert.firing', data: {} }))).toBeUndefined();
    expect(parseAlertEvent(null)).toBeUndefined();
  });
});
