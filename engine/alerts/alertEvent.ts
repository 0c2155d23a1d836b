import { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import { CityOpsError } from '../errors.ts';
import { transitionEventId } from './alertIdentity.ts';
import type { AlertTransition } from './alertTransition.ts';

/** CloudEvents `source` of every alert event. */
export const ALERT_EVENT_SOURCE = '/city-ops/alerts';

/**
 * CloudEvents `type` of the two lifecycle events, and of a case's escalation (docs/cases.md): the case
 * service puts it in the outbox, addressed to the next department of the chain, and the dispatcher
 * delivers it like an alert.
 */
export const ALERT_EVENT_TYPES = {
  firing: 'city.alert.firing',
  resolved: 'city.alert.resolved',
  escalated: 'city.case.escalated',
} as const;

/**
 * The `data` of an alert CloudEvent: the whole payload departments receive, and what the live map reads
 * from the alerts topic. Built field by field from an allow-list (`alertEventData`), so no field of an
 * input message (such as an incident's reporter) can pass through. Times are RFC 3339 UTC strings.
 */
export const AlertEventData = z
  .object({
    alert_id: z.string().regex(/^al_[0-9a-f]{24}$/),
    rule: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    indicator: z.string(),
    condition: z.enum(['threshold', 'rate_of_change', 'anomaly']),
    district: z.string().optional(),
    cell: z.string().optional(),
    category: z.string().optional(),
    lat: z.number().optional(),
    lon: z.number().optional(),
    title_en: z.string(),
    title_zh: z.string(),
    value: z.number(),
    threshold: z.number(),
    z_score: z.number().optional(),
    baseline_mean: z.number().optional(),
    sources: z.number().int().optional(),
    started_at: z.iso.datetime(),
    resolved_at: z.iso.datetime().optional(),
    window_start: z.iso.datetime().optional(),
    window_end: z.iso.datetime().optional(),
    /** The department the alert is addressed to, besides the routes' (a grant request's provider). */
    department: z.string().optional(),
    /** An escalation: the case, and how far up the chain it went (1 = the first department of the chain). */
    case_id: z.string().optional(),
    escalation_level: z.number().int().positive().optional(),
    /** Every department gets it (a change of the city's operating level). */
    broadcast: z.boolean().optional(),
  })
  .strict();
export type AlertEventData = z.infer<typeof AlertEventData>;

/** A structured-mode CloudEvent 1.0 of an alert transition, as a plain JSON object. */
export const AlertCloudEvent = z.object({
  specversion: z.literal('1.0'),
  id: z.string(),
  source: z.literal(ALERT_EVENT_SOURCE),
  type: z.enum([ALERT_EVENT_TYPES.firing, ALERT_EVENT_TYPES.resolved, ALERT_EVENT_TYPES.escalated]),
  subject: z.string().optional(),
  time: z.iso.datetime(),
  datacontenttype: z.literal('application/json'),
  data: AlertEventData,
});
export type AlertCloudEvent = z.infer<typeof AlertCloudEvent>;

// Chinese mobile numbers, 18-character resident ID numbers and long digit runs: never in a payload, even if
// an upstream mask failed and such a string reached a category or a title.
const PERSONAL_PATTERNS = [
  /(?<!\d)1[3-9]\d{9}(?!\d)/g,
  /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g,
  /\d{11,}/g,
];

/** Replaces anything that looks like a phone or ID number with `[masked]`. */
export function maskPersonalPatterns(text: string): string {
  let masked = text;
  for (const pattern of PERSONAL_PATTERNS) masked = masked.replace(pattern, '[masked]');
  return masked;
}

const iso = (ms: number) => new Date(ms).toISOString();
const finite = (n: number) => (Number.isFinite(n) ? n : 0);

/**
 * The allow-listed payload of a transition: each field copied by name, strings passed through
 * `maskPersonalPatterns`, numbers made finite, times as RFC 3339. Throws INVARIANT_BROKEN if the result
 * does not match `AlertEventData` (strict: no other field).
 */
export function alertEventData(t: AlertTransition): AlertEventData {
  const text = (s: string) => maskPersonalPatterns(s).slice(0, 300);
  const data: AlertEventData = {
    alert_id: t.alert_id,
    rule: text(t.rule),
    severity: t.severity,
    indicator: text(t.indicator),
    condition: t.condition,
    ...(t.district !== undefined ? { district: text(t.district) } : {}),
    ...(t.cell !== undefined ? { cell: text(t.cell) } : {}),
    ...(t.category !== undefined ? { category: text(t.category) } : {}),
    ...(t.lat !== undefined && t.lon !== undefined ? { lat: finite(t.lat), lon: finite(t.lon) } : {}),
    title_en: text(t.title_en),
    title_zh: text(t.title_zh),
    value: finite(t.value),
    threshold: finite(t.threshold),
    ...(t.z_score !== undefined ? { z_score: finite(t.z_score) } : {}),
    ...(t.baseline_mean !== undefined ? { baseline_mean: finite(t.baseline_mean) } : {}),
    ...(t.sources !== undefined ? { sources: t.sources } : {}),
    started_at: iso(t.started_at),
    ...(t.resolved_at !== undefined ? { resolved_at: iso(t.resolved_at) } : {}),
    ...(t.window_start !== undefined ? { window_start: iso(t.window_start) } : {}),
    ...(t.window_end !== undefined ? { window_end: iso(t.window_end) } : {}),
    ...(t.department !== undefined ? { department: text(t.department) } : {}),
    ...(t.broadcast ? { broadcast: true } : {}),
  };
  const checked = AlertEventData.safeParse(data);
  if (!checked.success) {
    throw new CityOpsError(
      'INVARIANT_BROKEN',
      `alert payload of ${t.alert_id} is malformed: ${checked.error.message}`,
    );
  }
  return checked.data;
}

/**
 * The CloudEvent 1.0 (structured JSON) of a transition: id `<alert_id>.<firing|resolved>` (also the webhook
 * id and idempotency key), type `city.alert.firing` / `city.alert.resolved`, time = event time of the
 * transition, subject `district/<code>`, `cell/<h3>` or `rule/<id>`.
 *
 * @example
 * const event = toAlertCloudEvent(transition);
 * producer.send({ topic, messages: [{ key: event.data.alert_id, value: JSON.stringify(event) }] });
 */
export function toAlertCloudEvent(t: AlertTransition): AlertCloudEvent {
  const data = alertEventData(t);
  const subject = t.cell
    ? `cell/${data.cell}`
    : t.district
      ? `district/${data.district}`
      : `rule/${data.rule}`;
  const event = new CloudEvent<AlertEventData>({
    specversion: '1.0',
    id: transitionEventId(t.alert_id, t.type),
    source: ALERT_EVENT_SOURCE,
    type: ALERT_EVENT_TYPES[t.type],
    subject,
    time: iso(t.at),
    datacontenttype: 'application/json',
    data,
  });
  // CloudEvent validates the attributes; toJSON gives the structured-mode object.
  return AlertCloudEvent.parse(event.toJSON());
}

/** Parses an alert CloudEvent from the alerts topic (JSON text); throws a zod error when malformed. */
export function parseAlertCloudEvent(text: string): AlertCloudEvent {
  return AlertCloudEvent.parse(JSON.parse(text));
}
