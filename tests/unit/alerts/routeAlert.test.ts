import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { routeAlert } from '../../../engine/alerts/routeAlert.ts';
import { PROJECT_ROOT } from '../../../engine/config/environment.ts';

describe('routeAlert (config/alerts.example.yaml)', async () => {
  const loaded = await loadAlertConfig(resolve(PROJECT_ROOT, 'config/alerts.example.yaml'), {});
  const ids = (rule: string, severity: 'info' | 'warning' | 'critical', district?: string) =>
    routeAlert(loaded, { rule, severity, ...(district ? { district } : {}) }).map((e) => e.id);

  it('sends a rule to the departments of every matching route, each endpoint once', () => {
    expect(ids('traffic-surge', 'warning', '440307')).toEqual(['transport-ops', 'police-command']);
    expect(ids('dense-crowd-cell', 'critical', '440306')).toEqual([
      'emergency-duty',
      'emergency-backup',
      'police-command',
      'urban-management-hub',
      'health-dispatch',
    ]);
  });

  it('adds district routes and respects minimum severities', () => {
    // Futian: every warning also to emergency (both of its endpoints).
    expect(ids('traffic-slowdown', 'warning', '440304')).toEqual([
      'transport-ops',
      'emergency-duty',
      'emergency-backup',
    ]);
    expect(ids('traffic-slowdown', 'warning', '440307')).toEqual(['transport-ops']);
    // traffic-surge at info severity misses the public-security route (min warning).
    expect(ids('traffic-surge', 'info', '440307')).toEqual(['transport-ops']);
    expect(ids('no-such-rule', 'info')).toEqual([]);
  });

  it('also sends an alert addressed to a department to that department’s endpoints', () => {
    const to = (department: string) =>
      routeAlert(loaded, { rule: 'grant-answer-overdue', severity: 'warning', department }).map((e) => e.id);
    expect(to('transport')).toEqual(['transport-ops']);
    expect(to('a-department-without-endpoints')).toEqual([]);
  });
});
