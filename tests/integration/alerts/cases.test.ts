import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import { alertId } from '../../../engine/alerts/alertIdentity.ts';
import { readTopicToEnd } from '../../../engine/alerts/alertKafka.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import { CaseEvent } from '../../../engine/cases/caseModel.ts';
import { selectRows } from '../../../engine/connectors/clickhouse/client.ts';
import {
  type AlertsRun,
  type AlertWorld,
  createAlertWorld,
  publishToOutbox,
  SECRETS,
  spawnAlerts,
  waitFor,
} from './alertTestKit.ts';
import { TestReceiver } from './webhookReceivers.ts';

const ACK_WITHIN_MS = 3_000;
const TICK_MS = 1_000;
/** District of each receiving department's alerts. */
const DISTRICT = { prompt: '440303', never: '440304', late: '440305' } as const;

function firing(district: string, minute: number): AlertTransition {
  const started = Date.UTC(2026, 11, 7, 1, minute);
  return {
    type: 'firing',
    at: started,
    alert_id: alertId('slow', `district:${district}`, started),
    rule: 'slow',
    severity: 'warning',
    indicator: 'transport.mean_speed_kmh',
    condition: 'threshold',
    district,
    title_en: `Slow in ${district}`,
    title_zh: `${district}缓慢`,
    value: 9,
    threshold: 12,
    started_at: started,
  };
}

/** The CloudEvents a receiver accepted of one type, or of one rule's alerts. */
function received(receiver: TestReceiver, typeOrRule: string): AlertCloudEvent[] {
  return receiver.requests
    .filter((r) => r.verdict === 'accepted')
    .map((r) => JSON.parse(r.body) as AlertCloudEvent)
    .filter((e) => e.type === typeOrRule || e.data.rule === typeOrRule);
}

function byCaseOf(events: readonly CaseEvent[]): Map<string, CaseEvent[]> {
  const byCase = new Map<string, CaseEvent[]>();
  for (const e of events) byCase.set(e.case_id, [...(byCase.get(e.case_id) ?? []), e]);
  return byCase;
}

/**
 * Cases on the real stack (issue 17): the alert process opens a case per alert place, dispatches it, and
 * escalates what is not acknowledged in time through the dispatcher to the next department of the chain.
 * Departments acknowledge through signed callbacks: promptly and twice, late, or never.
 */
describe('cases: dispatch, acknowledgement and escalation, through a SIGKILL', () => {
  let world: AlertWorld;
  let dir: string;
  let run: AlertsRun;
  let promptAlert: string | undefined;
  let neverAlert: string | undefined;
  let lateAlert: string | undefined;
  const departments = ['prompt', 'never', 'late', 'duty', 'centre'] as const;
  const secret = (d: (typeof departments)[number]) => SECRETS[departments.indexOf(d) % SECRETS.length]!;
  const receivers = Object.fromEntries(
    departments.map((d) => [d, new TestReceiver(d, [secret(d)])]),
  ) as Record<(typeof departments)[number], TestReceiver>;

  const rules = () => `version: 1
departments:
${departments
  .map(
    (d) => `  - id: ${d}
    name_en: ${d}
    name_zh: ${d}
    endpoints:
      - id: ${d}-hook
        url: '${receivers[d].url}'
        secrets: [${secret(d)}]
        timeout: 2s
        retry: { max_attempts: 20, max_age: 5m, base_delay: 100ms, max_delay: 1s }
`,
  )
  .join('')}rules:
  - id: slow
    severity: warning
    title_en: 'Slow in {district_en}'
    title_zh: '{district_zh}缓慢'
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: 12, clear: 16 }
routes:
${(['prompt', 'never', 'late'] as const).map((d) => `  - { departments: [${d}], districts: ['${DISTRICT[d]}'] }\n`).join('')}cases:
  ack_within: { warning: ${ACK_WITHIN_MS}ms }
  escalation: [duty, centre]
  supervisors: [centre]
  levels: [{ level: 2, open: 2 }, { level: 3, open: 100 }]
`;
  const act = async (
    department: (typeof departments)[number],
    body: Record<string, unknown>,
    sign = secret(department),
  ) => {
    const payload = JSON.stringify({ department, ...body });
    const id = `msg_${Math.random().toString(36).slice(2)}`;
    const now = new Date();
    const response = await fetch(`http://127.0.0.1:${run.statusPort()}/cases/actions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(sign).sign(id, now, payload),
      },
      body: payload,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const caseEvents = async () => {
    const events: CaseEvent[] = [];
    await readTopicToEnd(world.kafka, world.topics.caseEvents, ({ value }) => {
      events.push(CaseEvent.parse(JSON.parse(String(value))));
    });
    return events;
  };
  const start = async () => {
    run = spawnAlerts(world, ['--only', 'dispatcher,cases', '--rules', join(dir, 'rules.yaml')]);
    await waitFor('the alert process to serve', () => run.statusPort() !== undefined, 90_000);
    await waitFor('it to run', () => run.output.some((l) => l.startsWith('alerts: running')), 90_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}; it printed:\n${run.output.slice(-15).join('\n')}`);
      },
    );
  };

  beforeAll(async () => {
    world = await createAlertWorld(3);
    dir = mkdtempSync(join(tmpdir(), 'city-ops-cases-'));
    for (const r of Object.values(receivers)) await r.start();
    writeFileSync(join(dir, 'rules.yaml'), rules());
    await start();
  });
  afterAll(async () => {
    run?.child.kill('SIGKILL');
    for (const r of Object.values(receivers)) await r.stop();
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('escalates on time what is not acknowledged, and takes acknowledgements twice or late', async () => {
    const alerts = (['prompt', 'never', 'late'] as const).map((d) => firing(DISTRICT[d], 0));
    [promptAlert, neverAlert, lateAlert] = alerts.map((a) => a.alert_id);
    await publishToOutbox(world.kafka, world.topics.alerts, alerts);
    await waitFor(
      'the prompt department to get its alert',
      () => received(receivers.prompt, 'slow').length === 1,
    );
    const first = await act('prompt', { action: 'acknowledge', alert_id: promptAlert });
    expect(first).toMatchObject({ status: 200, body: { state: 'acknowledged', changed: true } });
    const twice = await act('prompt', { action: 'acknowledge', alert_id: promptAlert });
    expect(twice).toMatchObject({ status: 200, body: { state: 'acknowledged', changed: false } });
    expect((await act('prompt', { action: 'acknowledge', alert_id: neverAlert })).status).toBe(403);
    expect(
      (await act('prompt', { action: 'acknowledge', alert_id: promptAlert }, secret('never'))).status,
    ).toBe(401);

    await waitFor(
      'the duty leader to get two escalations',
      () => received(receivers.duty, 'city.case.escalated').length === 2,
      30_000,
    );
    const late = await act('late', { action: 'acknowledge', alert_id: lateAlert });
    expect(late).toMatchObject({ status: 200, body: { state: 'acknowledged', level: 1 } });
    await waitFor(
      'the centre to get the unacknowledged case',
      () => received(receivers.centre, 'city.case.escalated').length === 1,
      30_000,
    );
    await new Promise((r) => setTimeout(r, ACK_WITHIN_MS + 2 * TICK_MS));

    const events = await caseEvents();
    const of = (alert: string) => {
      const id = events.find((e) => e.alert_id === alert)!.case_id;
      return events.filter((e) => e.case_id === id);
    };
    const timeline = (alert: string) => of(alert).map((e) => e.type);
    expect(timeline(promptAlert!)).toEqual(['opened', 'dispatched', 'acknowledged']);
    expect(timeline(lateAlert!)).toEqual(['opened', 'dispatched', 'escalated', 'acknowledged']);
    expect(timeline(neverAlert!)).toEqual(['opened', 'dispatched', 'escalated', 'escalated', 'escalated']);
    // On time: each escalation between its deadline and one check (1 s) after it, plus a little scheduling.
    for (const alert of [neverAlert!, lateAlert!]) {
      const steps = of(alert);
      for (let i = 1; i < steps.length; i += 1) {
        if (steps[i]!.type !== 'escalated') continue;
        const due = steps[i - 1]!.deadline_ms;
        expect(steps[i]!.at_ms).toBeGreaterThanOrEqual(due);
        expect(steps[i]!.at_ms - due).toBeLessThan(TICK_MS + 1_500);
      }
    }
    expect(of(neverAlert!).map((e) => [e.level, e.departments])).toEqual([
      [0, ['never']],
      [0, ['never']],
      [1, ['duty']],
      [2, ['centre']],
      [3, []],
    ]);
    // The escalation webhooks: signed like alerts, addressed to the chain, naming the case.
    const notices = received(receivers.duty, 'city.case.escalated');
    expect(notices.map((n) => n.type)).toEqual(['city.case.escalated', 'city.case.escalated']);
    expect(notices.map((n) => n.data.escalation_level)).toEqual([1, 1]);
    expect(receivers.prompt.requests.every((r) => !r.body.includes('city.case.escalated'))).toBe(true);
    // Three cases open: the city went to level 2, and every department was told, once.
    for (const r of Object.values(receivers))
      expect(received(r, 'operating-level').map((e) => [e.type, e.data.value])).toEqual([
        ['city.alert.firing', 2],
      ]);
    const listed = (await (await fetch(`http://127.0.0.1:${run.statusPort()}/cases`)).json()) as {
      level: { level: number; open: number };
    };
    expect(listed.level).toMatchObject({ level: 2, open: 3 });
  });

  it('answers hostile requests clearly and goes on', async () => {
    const url = `http://127.0.0.1:${run.statusPort()}/cases/actions`;
    const post = async (body: string, headers: Record<string, string> = {}) => {
      const response = await fetch(url, { method: 'POST', headers, body });
      return { status: response.status, text: await response.text() };
    };
    expect(await post('not json')).toMatchObject({
      status: 400,
      text: expect.stringMatching(/not a case action/),
    });
    expect((await post(JSON.stringify({ department: 'prompt', action: 'explode' }))).status).toBe(400);
    expect(await post(JSON.stringify({ department: 'prompt', action: 'acknowledge' }))).toMatchObject({
      status: 401,
      text: expect.stringMatching(/missing-headers/),
    });
    expect((await post(JSON.stringify({ department: 'nobody', action: 'acknowledge' }))).status).toBe(401);
    expect((await post('x'.repeat(40_000))).status).toBe(413);
    expect((await fetch(`http://127.0.0.1:${run.statusPort()}/cases/case_nothing`)).status).toBe(404);
    expect((await act('prompt', { action: 'close', case_id: 'case_000000000000000000000000' })).status).toBe(
      404,
    );
    // An assignment to a department the rules file does not know is refused, and changes nothing.
    const listed = (await (await fetch(`http://127.0.0.1:${run.statusPort()}/cases`)).json()) as {
      cases: Array<{ case_id: string; departments: string[] }>;
    };
    const some = listed.cases[0]!;
    const assign = await act('centre', { action: 'assign', case_id: some.case_id, to: 'nowhere' });
    expect(assign.status).toBe(409);
    expect(String(assign.body['error'])).toMatch(/nowhere is not a department of the rules file/);
    const after = (await (
      await fetch(`http://127.0.0.1:${run.statusPort()}/cases/${some.case_id}`)
    ).json()) as {
      departments: string[];
    };
    expect(after.departments).toEqual(some.departments);
    const health = await fetch(`http://127.0.0.1:${run.statusPort()}/health`);
    expect(health.status).toBe(200);
  });

  it('loses and duplicates no case across a SIGKILL, and its indicators equal a recount', async () => {
    const alerts = Array.from({ length: 300 }, (_, i) =>
      firing(Object.values(DISTRICT)[i % 3]!, 100 + i * 45),
    );
    // Published in batches while the process runs, so the kill lands in the middle of the stream.
    const publishing = (async () => {
      for (let i = 0; i < alerts.length; i += 10) {
        await publishToOutbox(world.kafka, world.topics.alerts, alerts.slice(i, i + 10));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await waitFor('some cases of the new alerts', async () => (await caseEvents()).length > 60, 30_000);
    run.child.kill('SIGKILL');
    await run.exited;
    const opened = (await caseEvents()).filter((e) => e.type === 'opened').length - 3;
    console.info(`cases test: ${opened} of ${alerts.length} new cases opened when the process was killed`);
    await start();
    await publishing;
    const wanted = new Set(alerts.map((a) => a.alert_id));
    await waitFor(
      'every alert in a case',
      async () => {
        const seen = new Set(
          (await caseEvents())
            .filter((e) => e.type === 'opened' || e.type === 'joined')
            .map((e) => e.alert_id),
        );
        return [...wanted].every((a) => seen.has(a));
      },
      60_000,
    );
    const events = await caseEvents();
    const placed = events.filter((e) => e.type === 'opened' || e.type === 'joined').map((e) => e.alert_id);
    expect(placed.length).toBe(new Set(placed).size); // each alert in exactly one case, once
    for (const list of byCaseOf(events).values())
      expect(list.map((e) => e.seq)).toEqual(list.map((_, i) => i + 1));

    // Close the first case: resolve, verify and close, as its department and the centre.
    const promptCase = events.find((e) => e.alert_id === promptAlert)!.case_id;
    expect((await act('prompt', { action: 'resolve', case_id: promptCase })).status).toBe(200);
    expect((await act('centre', { action: 'verify', case_id: promptCase })).status).toBe(200);
    expect((await act('centre', { action: 'close', case_id: promptCase })).status).toBe(200);
    // Escalations go on for a few seconds after the restart: wait until no case has a deadline left.
    let pending: unknown[] = [];
    await waitFor(
      'every case acknowledged or at the end of the chain',
      async () => {
        const listed = (await (await fetch(`http://127.0.0.1:${run.statusPort()}/cases`)).json()) as {
          cases: Array<{ acknowledge_by: string | null }>;
        };
        pending = listed.cases.filter((c) => c.acknowledge_by !== null);
        return listed.cases.length === 303 && pending.length === 0;
      },
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(pending.slice(0, 3))}`);
    });
    const final = await caseEvents();
    // Level 3 since the 100th open case: announced before the kill or after it, one alert, told once.
    await waitFor('every department told of level 3', () =>
      Object.values(receivers).every((r) => received(r, 'operating-level').some((e) => e.data.value === 3)),
    );
    for (const r of Object.values(receivers)) {
      const levels = received(r, 'operating-level');
      expect(levels.filter((e) => e.data.value === 3 && e.type === 'city.alert.firing')).toHaveLength(1);
      expect(levels.filter((e) => e.data.value === 2 && e.type === 'city.alert.resolved')).toHaveLength(1);
    }
    await waitFor('ClickHouse to hold every case event', async () => {
      const rows = await selectRows<{ n: string }>(
        world.clickhouse,
        `SELECT count() AS n FROM ${world.database}.case_events FINAL`,
      );
      return Number(rows[0]?.n) === final.length;
    });
    const indicators = await selectRows<Record<string, string | number>>(
      world.clickhouse,
      `SELECT department, place, cases, acknowledged, closed, mean_ack_s, closure_rate FROM ${world.database}.case_indicators ORDER BY department, place`,
    );
    const recount = new Map<string, { cases: number; acknowledged: number; closed: number; ackMs: number }>();
    for (const list of byCaseOf(final).values()) {
      const opened = list[0]!;
      const ack = list.find((e) => e.type === 'acknowledged');
      for (const department of opened.departments) {
        const key = `${department}/${opened.place}`;
        const r = recount.get(key) ?? { cases: 0, acknowledged: 0, closed: 0, ackMs: 0 };
        r.cases += 1;
        if (ack) {
          r.acknowledged += 1;
          r.ackMs += ack.at_ms - opened.at_ms;
        }
        if (list.at(-1)!.type === 'closed') r.closed += 1;
        recount.set(key, r);
      }
    }
    expect(indicators.map((r) => `${r['department']}/${r['place']}`).sort()).toEqual(
      [...recount.keys()].sort(),
    );
    for (const row of indicators) {
      const r = recount.get(`${row['department']}/${row['place']}`)!;
      expect([Number(row['cases']), Number(row['acknowledged']), Number(row['closed'])]).toEqual([
        r.cases,
        r.acknowledged,
        r.closed,
      ]);
      expect(Number(row['closure_rate'])).toBeCloseTo(r.closed / r.cases, 9);
      expect(Number(row['mean_ack_s'])).toBeCloseTo(
        r.acknowledged === 0 ? 0 : r.ackMs / r.acknowledged / 1000,
        6,
      );
    }
  });
});
