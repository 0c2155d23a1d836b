import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../../engine/alerts/alertEvaluator.ts';
import {
  AlertCloudEvent,
  maskPersonalPatterns,
  toAlertCloudEvent,
} from '../../../engine/alerts/alertEvent.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import { parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import type { AggregateMessage } from '../../../engine/contract/aggregates.ts';

const T0 = Date.UTC(2026, 10, 27, 0, 30);

const transition: AlertTransition = {
  type: 'firing',
  alert_id: 'al_0123456789abcdef01234567',
  rule: 'slow',
  severity: 'warning',
  indicator: 'transport.mean_speed_kmh',
  condition: 'threshold',
  district: '440304',
  title_en: 'Slow in Futian',
  title_zh: '福田区缓慢',
  value: 9.5,
  threshold: 12,
  started_at: T0,
  at: T0,
  window_start: T0,
  window_end: T0 + 60_000,
};

describe('toAlertCloudEvent', () => {
  it('builds a structured CloudEvent 1.0 whose id is the idempotency key', () => {
    const event = toAlertCloudEvent(transition);
    expect(event).toEqual({
      specversion: '1.0',
      id: 'al_0123456789abcdef01234567.firing',
      source: '/city-ops/alerts',
      type: 'city.alert.firing',
      subject: 'district/440304',
      time: '2026-11-27T00:30:00.000Z',
      datacontenttype: 'application/json',
      data: {
        alert_id: 'al_0123456789abcdef01234567',
        rule: 'slow',
        severity: 'warning',
        indicator: 'transport.mean_speed_kmh',
        condition: 'threshold',
        district: '440304',
        title_en: 'Slow in Futian',
        title_zh: '福田区缓慢',
        value: 9.5,
        threshold: 12,
        started_at: '2026-11-27T00:30:00.000Z',
        window_start: '2026-11-27T00:30:00.000Z',
        window_end: '2026-11-27T00:31:00.000Z',
      },
    });
    const resolved = toAlertCloudEvent({
      ...transition,
      type: 'resolved',
      resolved_at: T0 + 300_000,
      at: T0 + 300_000,
    });
    expect(resolved.type).toBe('city.alert.resolved');
    expect(resolved.id).toBe('al_0123456789abcdef01234567.resolved');
    expect(resolved.data.resolved_at).toBe('2026-11-27T00:35:00.000Z');
  });

  it('masks phone and ID numbers that reach a text field', () => {
    expect(maskPersonalPatterns('call 13800138000 or id 11010519491231002X now')).toBe(
      'call [masked] or id [masked] now',
    );
    const event = toAlertCloudEvent({
      ...transition,
      title_en: 'reported by 13912345678',
      category: 'fire 440304199001011234',
    });
    expect(JSON.stringify(event)).not.toMatch(/13912345678|440304199001011234/);
  });

  it('lets no reporter name, phone or ID number of incidents reach a payload (property, through the evaluator)', () => {
    const config = parseAlertConfig(
      `version: 1
departments: [{ id: d, name_en: D, name_zh: D, endpoints: [{ id: e, url: 'http://127.0.0.1:1/', secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw] }] }]
routes: [{ departments: [d] }]
rules:
  - id: crowd
    severity: critical
    title_en: '{category} in {district_en}: {value} people'
    title_zh: '{district_zh}{category}'
    source: { kind: incident_impact, indicator: people_present }
    condition: { type: threshold, direction: above, fire: 10 }
    grouping: { resolve_after: 5m }
`,
      'pii.yaml',
      {},
    ).config;
    const reporter = fc.record({
      name: fc.constantFrom('张伟', '王芳', 'Li Na', '欧阳娜娜'),
      phone: fc.stringMatching(/^1[3-9]\d{9}$/),
      id_number: fc.stringMatching(/^\d{17}[\dX]$/),
    });
    fc.assert(
      fc.property(reporter, fc.integer({ min: 11, max: 100_000 }), (who, people) => {
        const evaluator = new AlertEvaluator(config);
        const incident: AggregateMessage = {
          kind: 'incident',
          id: 'r1',
          incident_id: 'inc-1',
          ts: T0,
          category: 'fire',
          severity: 4,
          status: 'open',
          lat: 22.54,
          lon: 114.05,
          district: '440304',
          cell: '88411c0001fffff',
          source: 'hotline',
          description: `caller ${who.name} ${who.phone}`,
          reporter: who,
        };
        const impact: AggregateMessage = {
          kind: 'incident_impact',
          incident_id: 'inc-1',
          ts: T0,
          district: '440304',
          category: 'fire',
          severity: 4,
          lat: 22.54,
          lon: 114.05,
          radius_m: 500,
          band_ms: 300_000,
          vehicles: 3,
          nearest_vehicles: [{ vehicle: 'B12345', mode: 'bus', distance_m: 40 }],
          people_present: people,
        };
        const expire: AggregateMessage = {
          kind: 'watermark',
          stream: 'events',
          partition: 0,
          watermark: T0 + 600_000,
          at: 0,
        };
        const transitions = [incident, impact, expire].flatMap((m) => evaluator.process(m));
        expect(transitions.map((t) => t.type)).toEqual(['firing', 'resolved']);
        for (const t of transitions) {
          const text = JSON.stringify(toAlertCloudEvent(t));
          expect(AlertCloudEvent.safeParse(JSON.parse(text)).success).toBe(true);
          for (const secret of [who.name, who.phone, who.id_number, 'B12345', 'caller', 'hotline']) {
            expect(text).not.toContain(secret);
          }
        }
      }),
      { numRuns: 50 },
    );
  });
});
