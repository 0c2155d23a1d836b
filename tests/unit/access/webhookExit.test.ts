import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { webhookBody } from '../../../engine/access/webhookExit.ts';
import type { AlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import type { Catalogue } from '../../../engine/catalogue/catalogueSchema.ts';
import { loadCatalogue, parseCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';

const { catalogue } = await loadCatalogue();
const event: AlertCloudEvent = {
  specversion: '1.0',
  id: 'ev-1',
  source: '/city-ops/alerts',
  type: 'city.alert.firing',
  time: '2026-12-07T03:00:00.000Z',
  datacontenttype: 'application/json',
  data: {
    alert_id: `al_${'a'.repeat(24)}`,
    rule: 'dense-crowd-cell',
    severity: 'warning',
    indicator: 'people_present',
    condition: 'threshold',
    district: '440304',
    cell: '88411c8d6dfffff',
    lat: 22.54,
    lon: 114.05,
    title_en: 'Dense crowd',
    title_zh: '人群密集',
    value: 9000,
    threshold: 8000,
    started_at: '2026-12-07T02:59:00.000Z',
  },
};
const body = JSON.stringify(event);

/** The city's catalogue with one change to alerts.webhooks or the negative list. */
function changed(change: (c: Catalogue) => void): Catalogue {
  const copy = structuredClone(catalogue);
  change(copy);
  return parseCatalogue(stringify(copy)).catalogue;
}

describe('webhook payloads, projected per department', () => {
  it('go out as the outbox holds them when the catalogue withholds nothing', () => {
    expect(webhookBody(catalogue, 'emergency', event, body)).toBe(body);
  });

  it('lose the items a negative-list rule adds, for every department', () => {
    const denied = changed((c) => {
      c.negative_list.push({
        id: 'positions',
        legal_basis: 'a test rule',
        resources: ['alerts.*'],
        items: ['lat', 'lon', 'cell'],
      });
    });
    const sent = JSON.parse(webhookBody(denied, 'emergency', event, body)!) as AlertCloudEvent;
    expect(sent.data).not.toHaveProperty('lat');
    expect(sent.data).not.toHaveProperty('cell');
    expect(sent.data).toMatchObject({ alert_id: event.data.alert_id, district: '440304', value: 9000 });
    expect(sent.id).toBe(event.id);
  });

  it('are not sent at all when the class is not shared', () => {
    const closed = changed((c) => {
      const alerts = c.resources.find((r) => r.id === 'alerts.webhooks')!;
      alerts.sharing = 'none';
    });
    expect(webhookBody(closed, 'emergency', event, body)).toBeUndefined();
  });
});
