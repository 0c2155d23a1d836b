import { z } from 'zod';
import { CasesConfig } from '../cases/caseConfig.ts';
import { Duration } from './duration.ts';

/**
 * The schema of the alert rules file (`config/alerts.example.yaml`, documented in `docs/alerts.md`):
 * departments and their webhook endpoints, rules over the engine's aggregates, and routes from rules to
 * departments. Durations are written `30s`, `15m`, `2h`, `7d` (or integer milliseconds) and parse to ms.
 */

const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'ids are lowercase letters, digits, - and _, e.g. transport-main');

/** Alert severities, in increasing order. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

/** Standard Webhooks asks for secrets of 24 to 64 random bytes (192 bits at least). */
const SECRET_BYTES = { min: 24, max: 64 } as const;
export const WebhookSecret = z.string().refine((secret) => {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) return false;
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
  return bytes >= SECRET_BYTES.min && bytes <= SECRET_BYTES.max;
}, `a secret is 'whsec_' followed by base64 of ${SECRET_BYTES.min} to ${SECRET_BYTES.max} random bytes (Standard Webhooks); make one with: openssl rand -base64 32`);

const RetryPolicy = z.object({
  /** Attempts in all, the first included; after the last one the delivery is dead-lettered. */
  max_attempts: z.number().int().min(1).max(100).default(12),
  /** Age (since the first attempt) after which no further attempt is made. */
  max_age: Duration.default(3_600_000),
  /** Backoff base and cap: attempt n waits a random time in [0, min(max_delay, base_delay * 2^(n-1))]. */
  base_delay: Duration.default(1_000),
  max_delay: Duration.default(300_000),
});

export const EndpointConfig = z
  .object({
    /** Unique over the whole file; deliveries, acknowledgements and metrics are keyed by it. */
    id: Id,
    url: z.url({ protocol: /^https?$/, error: 'url must be an http:// or https:// URL' }),
    /**
     * Signing secrets, newest first. Every request carries one signature per secret (space-separated in
     * `webhook-signature`), so during a rotation a receiver holding either the old or the new secret verifies.
     */
    secrets: z.array(WebhookSecret).min(1).optional(),
    /** Alternatively, the name of an environment variable holding the secrets, space-separated. */
    secrets_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
    /** Per-request timeout. */
    timeout: Duration.default(10_000),
    /** Requests in flight to this endpoint at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
    retry: RetryPolicy.prefault({}),
    enabled: z.boolean().default(true),
  })
  .refine((endpoint) => (endpoint.secrets === undefined) !== (endpoint.secrets_env === undefined), {
    message: 'give exactly one of secrets (a list) or secrets_env (an environment variable name)',
  });
export type EndpointConfig = z.infer<typeof EndpointConfig>;

export const DepartmentConfig = z.object({
  id: Id,
  name_en: z.string().min(1),
  name_zh: z.string().min(1),
  endpoints: z.array(EndpointConfig).min(1),
});
export type DepartmentConfig = z.infer<typeof DepartmentConfig>;

/** Indicators of a `district_window` total, per stream. */
export const DISTRICT_WINDOW_INDICATORS = {
  transport: ['events', 'vehicles', 'mean_speed_kmh'],
  events: ['events', 'incidents', 'opened', 'closed', 'severe'],
  population: ['present', 'inflow', 'outflow', 'net_inflow'],
} as const;

const DistrictWindowSource = z
  .object({
    kind: z.literal('district_window'),
    stream: z.enum(['transport', 'events', 'population']),
    indicator: z.string(),
  })
  .refine(
    (source) => (DISTRICT_WINDOW_INDICATORS[source.stream] as readonly string[]).includes(source.indicator),
    {
      message: `unknown indicator for this stream; transport: ${DISTRICT_WINDOW_INDICATORS.transport.join(', ')}; events: ${DISTRICT_WINDOW_INDICATORS.events.join(', ')}; population: ${DISTRICT_WINDOW_INDICATORS.population.join(', ')}`,
      path: ['indicator'],
    },
  );

const DistrictPulseSource = z.object({
  kind: z.literal('district_pulse'),
  indicator: z.enum([
    'vehicles_seen',
    'mean_speed_kmh',
    'incidents_opened',
    'incidents_open',
    'people_present',
    'net_inflow',
  ]),
});

const PopulationCellsSource = z.object({
  kind: z.literal('population_cells'),
  indicator: z.enum(['present', 'inflow', 'outflow', 'net_inflow']),
});

const IncidentImpactSource = z.object({
  kind: z.literal('incident_impact'),
  indicator: z.enum(['people_present', 'vehicles', 'severity']),
  /** Only incidents of these categories (default: all). */
  categories: z.array(z.string().min(1)).min(1).optional(),
  /** Only incidents of at least this severity (1-5). */
  min_severity: z.number().int().min(1).max(5).default(1),
});

export const RuleSource = z.discriminatedUnion('kind', [
  DistrictWindowSource,
  DistrictPulseSource,
  PopulationCellsSource,
  IncidentImpactSource,
]);
export type RuleSource = z.infer<typeof RuleSource>;

const Streaks = {
  /** Consecutive observations meeting the firing condition before the alert fires. */
  for: z.number().int().min(1).max(1000).default(1),
  /** Consecutive observations meeting the clearing condition before the alert resolves. */
  clear_for: z.number().int().min(1).max(1000).default(1),
};

const ThresholdCondition = z.object({
  type: z.literal('threshold'),
  direction: z.enum(['above', 'below']),
  /** Fires when the value is >= fire (above) or <= fire (below). */
  fire: z.number(),
  /** Clears when the value is < clear (above) or > clear (below); default: fire (no hysteresis band). */
  clear: z.number().optional(),
  ...Streaks,
});

const RateOfChangeCondition = z.object({
  type: z.literal('rate_of_change'),
  direction: z.enum(['rise', 'fall']),
  /** Compare with the value this long before (event time), e.g. 10m. */
  over: Duration.refine((ms) => ms > 0, 'over must be positive'),
  /** relative: (v - before) / max(|before|, min_base); absolute: v - before. */
  change: z.enum(['relative', 'absolute']).default('relative'),
  /** Floor of the denominator of a relative change, so a rise from 0 is not infinite. */
  min_base: z.number().positive().default(1),
  fire: z.number().positive(),
  clear: z.number().min(0).optional(),
  ...Streaks,
});

const TimeOfDayBaseline = z.object({
  kind: z.literal('time_of_day'),
  /** Width of a time-of-day slot: values of the same slot on earlier days form the baseline. */
  slot: Duration.default(900_000),
  /** Memory of the baseline in days (exponential weighting). */
  days: z.number().int().min(1).max(90).default(7),
  /** Days of history before the rule may fire. */
  min_days: z.number().min(0.1).max(90).default(2),
  /** Minutes (observations) per slot and day, to turn days into a weight; default slot / 1 minute. */
  samples_per_slot: z.number().int().min(1).optional(),
});

const RollingBaseline = z.object({
  kind: z.literal('rolling'),
  /** Memory of the exponentially weighted mean and variance, in observations. */
  samples: z.number().int().min(2).max(100_000).default(60),
  /** Observations before the rule may fire. */
  min_samples: z.number().int().min(2).default(30),
});

const AnomalyCondition = z.object({
  type: z.literal('anomaly'),
  direction: z.enum(['above', 'below']).default('above'),
  baseline: z.discriminatedUnion('kind', [TimeOfDayBaseline, RollingBaseline]),
  /** Fires when the z-score (value - mean) / max(stddev, min_stddev) reaches z_fire. */
  z_fire: z.number().positive().default(4),
  /** Clears when the z-score falls back below z_clear. */
  z_clear: z.number().min(0).default(2),
  /** Floor of the standard deviation, in the indicator's unit, so a flat baseline is not hypersensitive. */
  min_stddev: z.number().positive().default(1),
  /** Floor of the relative standard deviation (fraction of the mean). */
  min_relative_stddev: z.number().min(0).default(0.05),
  /** Also require the value itself to reach this (above) or stay under it (below). */
  min_value: z.number().optional(),
  ...Streaks,
});

export const RuleCondition = z.discriminatedUnion('type', [
  ThresholdCondition,
  RateOfChangeCondition,
  AnomalyCondition,
]);
export type RuleCondition = z.infer<typeof RuleCondition>;

const IncidentGrouping = z.object({
  /** Incidents within this distance of an active alert's first incident join that alert. */
  radius_m: z.number().positive().max(50_000).default(500),
  /** ... if reported within this time of the alert's latest incident. */
  window: Duration.default(1_800_000),
  /** Only incidents of the same category join one alert. */
  same_category: z.boolean().default(true),
  /** Resolve when no incident of the alert was reported for this long (event time) ... */
  resolve_after: Duration.default(3_600_000),
});

export const RuleConfig = z
  .object({
    id: Id,
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    severity: Severity,
    /**
     * Titles; `{district}`, `{district_en}`, `{district_zh}`, `{cell}`, `{category}`, `{value}` and
     * `{threshold}` are replaced.
     */
    title_en: z.string().min(1).max(200),
    title_zh: z.string().min(1).max(200),
    source: RuleSource,
    condition: RuleCondition,
    /** Only these district codes (default: all). */
    districts: z.array(z.string().min(1)).min(1).optional(),
    /** After an alert resolves, the same rule and key stay quiet this long (event time). */
    cooldown: Duration.default(600_000),
    /** incident_impact rules: how reports of one incident from several nearby sources group into one alert. */
    grouping: IncidentGrouping.prefault({}),
  })
  .superRefine((rule, ctx) => {
    if (rule.source.kind === 'incident_impact' && rule.condition.type !== 'threshold') {
      ctx.addIssue({
        code: 'custom',
        path: ['condition', 'type'],
        message: 'incident_impact rules take a threshold condition (each incident is one observation)',
      });
    }
    const condition = rule.condition;
    if (condition.type === 'threshold' && condition.clear !== undefined) {
      const wrongSide =
        condition.direction === 'above' ? condition.clear > condition.fire : condition.clear < condition.fire;
      if (wrongSide) {
        ctx.addIssue({
          code: 'custom',
          path: ['condition', 'clear'],
          message: `clear must be on the quiet side of fire (${condition.direction === 'above' ? '<=' : '>='} ${condition.fire}) for hysteresis`,
        });
      }
    }
    if (
      condition.type === 'rate_of_change' &&
      condition.clear !== undefined &&
      condition.clear > condition.fire
    ) {
      ctx.addIssue({ code: 'custom', path: ['condition', 'clear'], message: 'clear must be <= fire' });
    }
    if (condition.type === 'anomaly' && condition.z_clear > condition.z_fire) {
      ctx.addIssue({ code: 'custom', path: ['condition', 'z_clear'], message: 'z_clear must be <= z_fire' });
    }
  });
export type RuleConfig = z.infer<typeof RuleConfig>;

export const RouteConfig = z.object({
  /** Departments that receive the matching alerts. */
  departments: z.array(Id).min(1),
  /** Rules this route applies to (default: every rule). */
  rules: z.array(Id).min(1).optional(),
  /** District codes this route applies to (default: all, and alerts without a district). */
  districts: z.array(z.string().min(1)).min(1).optional(),
  /** Lowest severity this route applies to. */
  min_severity: Severity.default('info'),
});
export type RouteConfig = z.infer<typeof RouteConfig>;

export const AlertConfigSchema = z
  .object({
    version: z.literal(1, { error: 'version must be 1 (the only version of this file format)' }),
    departments: z.array(DepartmentConfig).min(1),
    rules: z.array(RuleConfig).min(1),
    routes: z.array(RouteConfig).min(1),
    cases: CasesConfig,
  })
  .superRefine((config, ctx) => {
    const unique = (ids: string[], path: (index: number) => (string | number)[], what: string) => {
      const seen = new Set<string>();
      ids.forEach((id, index) => {
        if (seen.has(id))
          ctx.addIssue({ code: 'custom', path: path(index), message: `duplicate ${what} id '${id}'` });
        seen.add(id);
      });
      return seen;
    };
    const departments = unique(
      config.departments.map((d) => d.id),
      (i) => ['departments', i, 'id'],
      'department',
    );
    const endpointIds: string[] = [];
    const endpointPaths: (string | number)[][] = [];
    config.departments.forEach((department, d) => {
      department.endpoints.forEach((endpoint, e) => {
        endpointIds.push(endpoint.id);
        endpointPaths.push(['departments', d, 'endpoints', e, 'id']);
      });
    });
    unique(endpointIds, (i) => endpointPaths[i] ?? [], 'endpoint');
    const rules = unique(
      config.rules.map((r) => r.id),
      (i) => ['rules', i, 'id'],
      'rule',
    );
    config.routes.forEach((route, r) => {
      route.departments.forEach((id, i) => {
        if (!departments.has(id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', r, 'departments', i],
            message: `unknown department '${id}'; known: ${[...departments].join(', ')}`,
          });
        }
      });
      route.rules?.forEach((id, i) => {
        if (!rules.has(id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', r, 'rules', i],
            message: `unknown rule '${id}'; known: ${[...rules].join(', ')}`,
          });
        }
      });
    });
    // Escalations are delivered to the department's endpoints: it must have some. A supervisor may also be
    // the operations centre, which acts on the map's console without an endpoint.
    config.cases.escalation.forEach((id, i) => {
      if (!departments.has(id))
        ctx.addIssue({
          code: 'custom',
          path: ['cases', 'escalation', i],
          message: `unknown department '${id}'; known: ${[...departments].join(', ')}`,
        });
    });
  });

/** A validated alert configuration (durations in ms, defaults filled in). */
export type AlertConfig = z.infer<typeof AlertConfigSchema>;
