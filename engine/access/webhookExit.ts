import type { AlertCloudEvent } from '../alerts/alertEvent.ts';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { type Grant, project, projectRecord } from '../catalogue/projection.ts';

/** The catalogue class of the alert webhooks' payloads. */
export const WEBHOOK_CLASS = 'alerts.webhooks';

/**
 * The body a department's webhook receives for one alert event: the event with its data projected for
 * that department. `alerts.webhooks` is shared on the condition that an alert rule routes to the
 * department, so a route stands for the grant of the whole class: what leaves is then decided by the
 * catalogue alone - the negative list, `drop` and each item's masking - through the same projection as
 * every other exit. Returns the event unchanged (the same text) when nothing is withheld or masked, and
 * undefined when nothing of the class may go to the department (the webhook is then not sent).
 */
export function webhookBody(
  catalogue: Catalogue,
  department: string,
  event: AlertCloudEvent,
  body: string,
): string | undefined {
  const route: Grant = {
    id: `route:${department}`,
    department,
    resource: WEBHOOK_CLASS,
    items: ['*'],
    purpose: 'an alert rule routes to the department',
    approved_by: 'the alert routes (config/alerts.yaml)',
    valid_from: '1970-01-01T00:00:00Z',
    valid_until: '9999-12-31T23:59:59Z',
  };
  const projection = project(catalogue, [route], department, WEBHOOK_CLASS, Date.now());
  if (projection.items.length === 0) return undefined;
  const data = projectRecord(event.data, projection);
  const same =
    Object.keys(data).length === Object.keys(event.data).length &&
    Object.entries(data).every(([k, v]) => v === (event.data as Record<string, unknown>)[k]);
  return same ? body : JSON.stringify({ ...event, data });
}
