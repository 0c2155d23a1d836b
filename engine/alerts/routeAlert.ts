import { SEVERITIES } from './alertConfig.ts';
import type { AlertEventData } from './alertEvent.ts';
import type { LoadedAlertConfig, ResolvedEndpoint } from './loadAlertConfig.ts';

/**
 * The endpoints that receive an alert: every route whose rules, districts and minimum severity match
 * names departments; the alert goes to each enabled endpoint of each of them, once, in file order.
 * A route without `districts` also matches alerts without a district. An alert addressed to a department
 * (`department`, e.g. a grant request's provider) also goes to that department's endpoints; a case's
 * escalation goes to that department only; a broadcast (the city's operating level) to every department.
 *
 * @example
 * routeAlert(loaded, event.data).map((e) => e.id); // ['transport-ops', 'police-command']
 */
export function routeAlert(
  loaded: LoadedAlertConfig,
  data: Pick<
    AlertEventData,
    'rule' | 'district' | 'severity' | 'department' | 'escalation_level' | 'broadcast'
  >,
): ResolvedEndpoint[] {
  if (data.broadcast) return [...loaded.endpoints.values()].filter((endpoint) => endpoint.enabled);
  const rank = SEVERITIES.indexOf(data.severity);
  const departments = new Set<string>(data.department === undefined ? [] : [data.department]);
  // An escalation goes to the department it is addressed to only: the routed ones had it already.
  for (const route of data.escalation_level === undefined ? loaded.config.routes : []) {
    if (route.rules && !route.rules.includes(data.rule)) continue;
    if (route.districts && (data.district === undefined || !route.districts.includes(data.district)))
      continue;
    if (rank < SEVERITIES.indexOf(route.min_severity)) continue;
    for (const department of route.departments) departments.add(department);
  }
  return [...loaded.endpoints.values()].filter(
    (endpoint) => endpoint.enabled && departments.has(endpoint.department),
  );
}
