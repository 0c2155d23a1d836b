import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAlertConfig, parseAlertConfig } from '../../../engine/alerts/loadAlertConfig.ts';
import { PROJECT_ROOT } from '../../../engine/config/environment.ts';
import { isCityOpsError } from '../../../engine/errors.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function minimal(extra = ''): string {
  return `version: 1
departments:
  - id: transport
    name_en: Transport
    name_zh: 交通
    endpoints:
      - { id: t1, url: 'http://127.0.0.1:1/hook', secrets: [${SECRET}] }
rules:
  - id: slow
    severity: warning
    title_en: Slow in {district_en}
    title_zh: "{district_zh}缓慢"
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: 12, clear: 16 }
routes:
  - departments: [transport]
${extra}`;
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseAlertConfig(text, 'rules.yaml', env);
  } catch (error) {
    if (isCityOpsError(error, 'CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadAlertConfig', () => {
  it('loads the example file with defaults filled in and durations in ms', async () => {
    const loaded = await loadAlertConfig(resolve(PROJECT_ROOT, 'config/alerts.example.yaml'), {});
    expect(loaded.config.departments.map((d) => d.id)).toEqual([
      'transport',
      'emergency',
      'public-security',
      'urban-management',
      'health',
    ]);
    const surge = loaded.config.rules.find((r) => r.id === 'traffic-surge');
    expect(surge?.cooldown).toBe(30 * 60_000);
    expect(surge?.condition).toMatchObject({
      type: 'anomaly',
      baseline: { kind: 'time_of_day', slot: 900_000 },
    });
    const endpoint = loaded.endpoints.get('transport-ops');
    expect(endpoint).toMatchObject({ department: 'transport', timeout: 5_000, concurrency: 4 });
    expect(endpoint?.secrets).toHaveLength(2);
    expect(loaded.endpoints.get('health-dispatch')?.retry).toEqual({
      max_attempts: 12,
      max_age: 3_600_000,
      base_delay: 1_000,
      max_delay: 300_000,
    });
  });

  it('names the line, column, field and expectation of each problem, all at once', () => {
    const text =
      minimal()
        .replace('fire: 12, clear: 16', 'fire: 12, clear: 8')
        .replace("url: 'http://127.0.0.1:1/hook'", "url: 'ftp://x'") +
      '  - departments: [police]\n    rules: [nope]\n';
    const message = problemsOf(text);
    expect(message).toContain('(4 problems)');
    expect(message).toMatch(/rules\.yaml:7:\d+: departments\.0\.endpoints\.0\.url: url must be an http/);
    expect(message).toMatch(
      /rules\.yaml:14:\d+: rules\.0\.condition\.clear: clear must be on the quiet side of fire \(>= 12\)/,
    );
    expect(message).toMatch(
      /rules\.yaml:17:\d+: routes\.1\.departments\.0: unknown department 'police'; known: transport/,
    );
    expect(message).toMatch(/routes\.1\.rules\.0: unknown rule 'nope'; known: slow/);
  });

  it('rejects YAML syntax errors with their position', () => {
    expect(problemsOf('version: 1\nrules: [a, b\n')).toMatch(/rules\.yaml:\d+:\d+: /);
  });

  it('rejects unknown indicators, bad durations, bad secrets and duplicate ids', () => {
    const text = minimal()
      .replace('indicator: mean_speed_kmh', 'indicator: present')
      .replace('severity: warning', 'severity: warning\n    cooldown: 10 minutes')
      .replace(SECRET, 'whsec_short');
    const message = problemsOf(text);
    expect(message).toContain(
      'rules.0.source.indicator: unknown indicator for this stream; transport: events, vehicles, mean_speed_kmh',
    );
    expect(message).toContain("rules.0.cooldown: '10 minutes' is not a duration");
    expect(message).toContain("departments.0.endpoints.0.secrets.0: a secret is 'whsec_'");
    // 12 random bytes, which the Standard Webhooks minimum (24) refuses.
    const twelve = `whsec_${Buffer.alloc(12, 7).toString('base64')}`;
    expect(problemsOf(minimal().replace(SECRET, twelve))).toContain('base64 of 24 to 64 random bytes');
    // Cross-references and duplicates are checked once every field is valid.
    const duplicate = minimal().replace(
      'routes:',
      `  - id: slow
    severity: info
    title_en: x
    title_zh: x
    source: { kind: district_pulse, indicator: people_present }
    condition: { type: threshold, direction: above, fire: 1 }
routes:`,
    );
    expect(problemsOf(duplicate)).toMatch(/rules\.yaml:15:\d+: rules\.1\.id: duplicate rule id 'slow'/);
  });

  it('only allows threshold conditions on incident rules', () => {
    const text = minimal().replace(
      'source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }\n    condition: { type: threshold, direction: below, fire: 12, clear: 16 }',
      'source: { kind: incident_impact, indicator: people_present }\n    condition: { type: rate_of_change, direction: rise, over: 5m, fire: 1 }',
    );
    expect(problemsOf(text)).toContain(
      'rules.0.condition.type: incident_impact rules take a threshold condition',
    );
  });

  it('reads secrets from an environment variable, and says when it is missing', () => {
    const text = minimal().replace(`secrets: [${SECRET}]`, 'secrets_env: T1_SECRETS');
    expect(problemsOf(text, {})).toContain('environment variable T1_SECRETS must hold one or more whsec_');
    const loaded = parseAlertConfig(text, 'rules.yaml', { T1_SECRETS: `${SECRET} ${SECRET}` });
    expect(loaded.endpoints.get('t1')?.secrets).toEqual([SECRET, SECRET]);
  });
});
