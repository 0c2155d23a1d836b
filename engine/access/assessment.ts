import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Catalogue } from '../catalogue/catalogueSchema.ts';
import { PROJECT_ROOT } from '../config/environment.ts';
import { parseYamlConfig } from '../config/yamlConfig.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { sqlIdentifier, sqlNumber, sqlString } from '../connectors/clickhouse/sqlLiteral.ts';
import { caseScorecard } from '../connectors/clickhouse/tables/cases.ts';
import { sharingScorecard } from '../connectors/clickhouse/tables/exchange.ts';
import { columnNames } from '../connectors/clickhouse/tables/table.ts';
import { STREAM_NAMES, streamTopic } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import { CITY_OFFSET_S, cityPeriodSql } from './cityCalendar.ts';

export const DEFAULT_ASSESSMENT = join(PROJECT_ROOT, 'config', 'assessment.yaml');

const Weight = z.number().min(0).max(1);
export const AssessmentConfig = z
  .strictObject({
    version: z.literal(1),
    weights: z.strictObject({
      validity: Weight,
      completeness: Weight,
      freshness: Weight,
      answer_time: Weight,
    }),
    freshness_seconds: z.number().int().positive(),
    silent_cycles: z.number().int().positive(),
    answer_target_hours: z.number().positive(),
    /** Case handling, per department (docs/cases.md): weights of its three rates, together 1. */
    case_weights: z
      .strictObject({ acknowledgement: Weight, closure: Weight, on_time_closure: Weight })
      .default({ acknowledgement: 0.3, closure: 0.3, on_time_closure: 0.4 }),
  })
  .refine((c) => Math.abs(Object.values(c.weights).reduce((a, b) => a + b, 0) - 1) < 1e-9, {
    path: ['weights'],
    message: 'the weights must add up to 1',
  })
  .refine((c) => Math.abs(Object.values(c.case_weights).reduce((a, b) => a + b, 0) - 1) < 1e-9, {
    path: ['case_weights'],
    message: 'the case weights must add up to 1',
  });
export type AssessmentConfig = z.infer<typeof AssessmentConfig>;

export async function loadAssessmentConfig(path = DEFAULT_ASSESSMENT): Promise<AssessmentConfig> {
  const parsed = parseYamlConfig(await readFile(path, 'utf8'), path, AssessmentConfig);
  if (!parsed.ok)
    throw new CityOpsError(
      'CONFIG_INVALID',
      `invalid assessment file ${path}:\n  ${parsed.problems.join('\n  ')}`,
      {
        hint: 'config/assessment.yaml describes each field',
      },
    );
  return parsed.data;
}

export const PERIODS = { hour: 3600, day: 86_400 } as const;
export type Period = keyof typeof PERIODS;

/**
 * The scorecard of one input stream's provider over [from, to) (epoch ms, whole periods of the city's
 * calendar), as one
 * INSERT ... SELECT: a calendar of every period (so a silent one scores too), the accepted records
 * (cleaned layer, by event time), the dead letters of the stream's topic (by message time) and the
 * provider's answers to conditional requests (by answer time). Definitions, per period:
 * - validity = accepted / (accepted + rejected), 0 when nothing came (nothing valid was shared);
 * - completeness = minutes with at least one accepted record / minutes in the period;
 * - freshness = accepted records ingested within `freshness_seconds` of their event time / accepted;
 * - answer score = 1 when the mean answer time is within the target, else target / mean; 1 without answers.
 */
export function scorecardStatement(
  db: string,
  catalogue: Catalogue,
  config: AssessmentConfig,
  stream: (typeof STREAM_NAMES)[number],
  topicPrefix: string,
  period: Period,
  from: number,
  to: number,
): string {
  const resource = `input.${stream}`;
  const provider = catalogue.resources.find((r) => r.id === resource)?.provider ?? '';
  const step = PERIODS[period];
  // Periods follow the city's calendar: a day is 00:00 to 24:00 in Shenzhen (UTC+8, no daylight saving).
  const offset = CITY_OFFSET_S;
  const fromS = Math.floor((from / 1000 + offset) / step) * step - offset;
  const count = Math.max(0, Math.ceil((to / 1000 - fromS) / step));
  const toS = fromS + count * step;
  const bucket = (column: string) => cityPeriodSql(column, step);
  const within = (column: string) =>
    `${column} >= toDateTime(${sqlNumber(fromS)}) AND ${column} < toDateTime(${sqlNumber(toS)})`;
  const d = sqlIdentifier(db);
  const { weights: w } = config;
  const target = sqlNumber(config.answer_target_hours);
  const accepted = `SELECT ${bucket('ts')} AS start, count() AS accepted, uniqExact(toStartOfMinute(ts)) AS minutes,
      countIf(toUInt32(ingested_at) <= toUInt32(ts) + ${sqlNumber(config.freshness_seconds)}) AS fresh
    FROM ${d}.${stream}_atomic FINAL WHERE ${within('ts')} GROUP BY start`;
  const rejected = `SELECT ${bucket('message_ts')} AS start, count() AS rejected FROM ${d}.dead_letters FINAL
    WHERE topic = ${sqlString(streamTopic(stream, topicPrefix))} AND ${within('message_ts')} GROUP BY start`;
  const answers = `SELECT ${bucket('answered_at')} AS start, count() AS answered,
      avg((toUInt32(answered_at) - toUInt32(requested_at)) / 3600) AS mean_answer_hours
    FROM (SELECT id, min(requested_at) AS requested_at,
            assumeNotNull(argMaxIf(answered_at, recorded_at_ms, action != 'requested')) AS answered_at
          FROM ${d}.grant_requests WHERE provider = ${sqlString(provider)}
          GROUP BY id HAVING countIf(action != 'requested') > 0)
    WHERE ${within('answered_at')} GROUP BY start`;
  const calendar = `SELECT toDateTime(${sqlNumber(fromS)} + number * ${step}) AS start FROM system.numbers LIMIT ${sqlNumber(count)}`;
  // ClickHouse 18.16 takes one JOIN per SELECT: each source joins the calendar one level further out.
  const joined = `SELECT * FROM (SELECT * FROM (SELECT * FROM (${calendar}) ANY LEFT JOIN (${accepted}) USING start)
      ANY LEFT JOIN (${rejected}) USING start) ANY LEFT JOIN (${answers}) USING start`;
  const validity = 'if(accepted + rejected = 0, 0, accepted / (accepted + rejected))';
  const completeness = `minutes / ${step / 60}`;
  const freshness = 'if(accepted = 0, 0, fresh / accepted)';
  const answerScore = `if(answered = 0 OR mean_answer_hours <= ${target}, 1, ${target} / mean_answer_hours)`;
  const score = `${sqlNumber(w.validity)} * ${validity} + ${sqlNumber(w.completeness)} * ${completeness} + ${sqlNumber(w.freshness)} * ${freshness} + ${sqlNumber(w.answer_time)} * ${answerScore}`;
  return `INSERT INTO ${d}.${sharingScorecard.name} (${columnNames(sharingScorecard).join(', ')})
    SELECT ${sqlString(period)}, start, ${sqlString(provider)}, ${sqlString(resource)}, accepted, rejected, ${validity},
      minutes, ${completeness}, fresh, ${freshness}, answered, mean_answer_hours, ${answerScore}, ${score}, now()
    FROM (${joined})`;
}

/**
 * Case handling per department over [from, to) (whole periods), as one INSERT ... SELECT from
 * `case_state`: the cases opened in each period and dispatched to the department at opening, with
 * - acknowledgement rate = acknowledged cases / cases; closure rate = closed / cases;
 * - on-time closure rate = closed by the case's close deadline / cases;
 * - score = the three, weighted by `case_weights`. A period without a case has no row.
 */
export function caseScorecardStatement(
  db: string,
  config: AssessmentConfig,
  period: Period,
  from: number,
  to: number,
): string {
  const step = PERIODS[period];
  const fromS = Math.floor((from / 1000 + CITY_OFFSET_S) / step) * step - CITY_OFFSET_S;
  const toS = fromS + Math.max(0, Math.ceil((to / 1000 - fromS) / step)) * step;
  const d = sqlIdentifier(db);
  const w = config.case_weights;
  const counted = `SELECT ${cityPeriodSql('toDateTime(intDiv(opened_ms, 1000))', step)} AS start, department,
      count() AS cases, countIf(acknowledged_ms > 0) AS acknowledged, countIf(last_event = 'closed') AS closed,
      countIf(last_event = 'closed' AND closed_ms <= close_deadline_ms) AS on_time,
      if(acknowledged = 0, 0, sumIf(acknowledged_ms - opened_ms, acknowledged_ms > 0) / acknowledged / 1000) AS mean_ack_s,
      if(closed = 0, 0, sumIf(closed_ms - opened_ms, last_event = 'closed') / closed / 1000) AS mean_close_s
    FROM ${d}.case_state ARRAY JOIN departments AS department
    WHERE opened_ms >= ${sqlNumber(fromS * 1000)} AND opened_ms < ${sqlNumber(toS * 1000)}
    GROUP BY start, department`;
  const score = `${sqlNumber(w.acknowledgement)} * acknowledged / cases + ${sqlNumber(w.closure)} * closed / cases + ${sqlNumber(w.on_time_closure)} * on_time / cases`;
  return `INSERT INTO ${d}.${caseScorecard.name} (${columnNames(caseScorecard).join(', ')})
    SELECT ${sqlString(period)}, start, department, cases, acknowledged, closed, on_time, acknowledged / cases,
      closed / cases, on_time / cases, mean_ack_s, mean_close_s, ${score}, now()
    FROM (${counted})`;
}

/** One pass of the assessment: every input stream, hourly and daily, over [from, to). */
export async function assess(
  client: ClickHouseClient,
  db: string,
  catalogue: Catalogue,
  config: AssessmentConfig,
  topicPrefix: string,
  from: number,
  to: number,
): Promise<void> {
  for (const stream of STREAM_NAMES)
    for (const period of Object.keys(PERIODS) as Period[])
      await client.command({
        query: scorecardStatement(db, catalogue, config, stream, topicPrefix, period, from, to),
      });
}

/** One pass of case handling's assessment: every department, hourly and daily, over [from, to). */
export async function assessCases(
  client: ClickHouseClient,
  db: string,
  config: AssessmentConfig,
  from: number,
  to: number,
): Promise<void> {
  for (const period of Object.keys(PERIODS) as Period[])
    await client.command({ query: caseScorecardStatement(db, config, period, from, to) });
}
