/**
 * An alert as the map's alert feed shows it. Built from the CloudEvents that the alert dispatcher
 * (issue 6) publishes on `city.alerts`; every field but the id may be missing.
 */
export interface AlertEntity {
  alert_id: string;
  state: 'firing' | 'resolved';
  rule: string | null;
  severity: string | null;
  district: string | null;
  cell: string | null;
  title_en: string | null;
  title_zh: string | null;
  value: number | null;
  threshold: number | null;
  /** Epoch ms. */
  started_at: number | null;
  resolved_at: number | null;
}

const FIRING = 'city.alert.firing';
const RESOLVED = 'city.alert.resolved';

/**
 * Reads one Kafka record of the alerts topic: a CloudEvent in structured mode (the JSON value has
 * `type` and `data`) or binary mode (`ce_type` header, the value is the data). Returns undefined for
 * anything that is not a `city.alert.firing` / `city.alert.resolved` event with an `alert_id`.
 *
 * @example
 * parseAlertEvent('{"specversion":"1.0","type":"city.alert.firing","data":{"alert_id":"a1"}}')?.state; // 'firing'
 */
export function parseAlertEvent(
  value: Buffer | string | null,
  headers: Record<string, unknown> = {},
): AlertEntity | undefined {
  if (value === null) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(String(value));
  } catch {
    return undefined;
  }
  if (!isRecord(body)) return undefined;
  let type: unknown;
  let data: unknown;
  if (typeof body['type'] === 'string' && 'data' in body) {
    type = body['type'];
    data = body['data'];
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        return undefined;
      }
    }
  } else {
    type = headerString(headers['ce_type']);
    data = body;
  }
  if ((type !== FIRING && type !== RESOLVED) || !isRecord(data)) return undefined;
  const id = data['alert_id'];
  if (typeof id !== 'string' || id.length === 0) return undefined;
  const resolvedAt = time(data['resolved_at']);
  return {
    alert_id: id,
    state: type === RESOLVED ? 'resolved' : 'firing',
    rule: text(data['rule']),
    severity: data['severity'] === undefined || data['severity'] === null ? null : String(data['severity']),
    district: text(data['district']),
    cell: text(data['cell']),
    title_en: text(data['title_en']),
    title_zh: text(data['title_zh']),
    value: num(data['value']),
    threshold: num(data['threshold']),
    started_at: time(data['started_at']),
    resolved_at: resolvedAt ?? (type === RESOLVED ? Date.now() : null),
  };
}

/** Whether a record of the alerts topic is a case's notice (`city.case.*`), which the alert feed skips. */
export function isCaseNotice(value: Buffer | string | null): boolean {
  return value !== null && /^\{[^{]*"type":"city\.case\./.test(String(value).slice(0, 300));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return headerString(value[0]);
  return String(value);
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 500) : null;
}

function num(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** Epoch ms from a number (ms) or an ISO string. */
function time(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}
