import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertEvaluator, type EvaluatorSnapshot } from '../../../engine/alerts/alertEvaluator.ts';
import { transitionEventId } from '../../../engine/alerts/alertIdentity.ts';
import type { AlertTransition } from '../../../engine/alerts/alertTransition.ts';
import { type AggregateMessage, aggregateKey } from '../../../engine/contract/aggregates.ts';
import { configOf, DAY0, MINUTE, transportDays } from './syntheticCity.ts';

/**
 * What `city-ops alerts` does across crashes, as a pure model: the evaluator reads the aggregates topic's
 * partitions interleaved, the idle check marks partitions at their end, a checkpoint snapshots the state
 * (through JSON, as the state topic holds it) with the positions it covers, and a crash restores the last
 * checkpoint and reads on from its positions, possibly interleaved differently. Alerts must be the same
 * as in an uninterrupted run: same ids, same contents, none missing, none extra.
 */

const CONFIG = configOf(`  - id: slow
    severity: warning
    title_en: 'Slow in {district_en}'
    title_zh: '{district_zh}缓慢'
    source: { kind: district_window, stream: transport, indicator: mean_speed_kmh }
    condition: { type: threshold, direction: below, fire: 24.5, clear: 25.5, for: 2 }
  - id: surge
    severity: warning
    title_en: surge
    title_zh: 激增
    source: { kind: district_window, stream: transport, indicator: events }
    condition: { type: anomaly, baseline: { kind: rolling, samples: 30, min_samples: 10 }, z_fire: 4, z_clear: 2 }
`);

const PARTITIONS = 3;
const T0 = DAY0 + 7 * 3_600_000;

/** The aggregates topic: each message on the partition its key hashes to, in publication order. */
function topic(): AggregateMessage[][] {
  const partitions: AggregateMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  const messages = transportDays({
    from: T0,
    days: 0.05,
    seed: 11,
    partitions: 2,
    surge: { district: '440306', start: T0 + 40 * MINUTE, minutes: 5, factor: 4 },
  });
  for (const message of messages) {
    let hash = 0;
    for (const c of aggregateKey(message)) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) | 0;
    partitions[Math.abs(hash) % PARTITIONS]!.push(message);
  }
  return partitions;
}

const TOPIC = topic();
/**
 * The stall fallback (a window completed without a partition that lags 5 minutes of event time) depends on
 * how far apart partitions are read, in a run with crashes as without; these interleavings are not about it.
 */
const OPTIONS = { inputPartitions: PARTITIONS, stallMs: 86_400_000 };
const TOTAL = TOPIC.reduce((n, p) => n + p.length, 0);

/** One step of a run: the next message of a partition, or the idle check marking a partition. */
type Step = { readonly read: number } | { readonly idle: number };

/** Turns random choices into steps over `positions` (mutated): reads of non-empty partitions, idle marks. */
function nextStep(positions: number[], choice: number): Step | undefined {
  const open = positions.flatMap((at, p) => (at < TOPIC[p]!.length ? [p] : []));
  if (open.length === 0) return undefined;
  if (choice % 7 === 0) return { idle: (choice >>> 3) % PARTITIONS };
  return { read: open[(choice >>> 3) % open.length]! };
}

function apply(evaluator: AlertEvaluator, step: Step, positions: number[]): AlertTransition[] {
  if ('idle' in step) return evaluator.markIdle(step.idle);
  const message = TOPIC[step.read]![positions[step.read]!]!;
  positions[step.read]! += 1;
  return evaluator.process(message, step.read);
}

/** Runs to the end of the topic; `plan` says, per step, whether a checkpoint or a crash follows it. */
/**
 * A fresh evaluator that has read the first minute of every partition, in partition order. Until it has
 * seen every source partition of a stream, a window completes with the partitions seen so far, so the
 * first windows of a fresh start depend on which partition comes first; the runs compared share this start.
 */
function warmEvaluator(positions: number[]): AlertEvaluator {
  const evaluator = new AlertEvaluator(CONFIG, OPTIONS);
  for (let p = 0; p < PARTITIONS; p += 1) {
    while (TOPIC[p]![positions[p]!]?.kind === 'district_window') {
      const message = TOPIC[p]![positions[p]!]!;
      if (message.kind !== 'district_window' || message.window_start !== T0) break;
      apply(evaluator, { read: p }, positions);
    }
  }
  return evaluator;
}

function runWith(choices: readonly number[], plan: (step: number) => 'checkpoint' | 'crash' | undefined) {
  const options = OPTIONS;
  let positions = Array.from({ length: PARTITIONS }, () => 0);
  let evaluator = warmEvaluator(positions);
  let saved = { json: JSON.stringify(evaluator.snapshot()), positions: [...positions] };
  const out: AlertTransition[] = [];
  let crashes = 0;
  for (let i = 0; ; i += 1) {
    const step = nextStep(positions, choices[i % choices.length]! + i);
    if (!step) break;
    out.push(...apply(evaluator, step, positions));
    const next = plan(i);
    if (next === 'checkpoint')
      saved = { json: JSON.stringify(evaluator.snapshot()), positions: [...positions] };
    if (next === 'crash') {
      crashes += 1;
      evaluator = AlertEvaluator.restore(CONFIG, JSON.parse(saved.json) as EvaluatorSnapshot, options);
      positions = [...saved.positions];
    }
  }
  // The idle check at the end of the topic releases what is still held.
  for (let p = 0; p < PARTITIONS; p += 1) out.push(...evaluator.markIdle(p));
  return { out, crashes };
}

/** The alerts as the dispatcher sees them: one per event id (a replay repeats an id with equal content). */
function delivered(transitions: AlertTransition[]): Map<string, AlertTransition> {
  const byId = new Map<string, AlertTransition>();
  for (const t of transitions) {
    const id = transitionEventId(t.alert_id, t.type);
    const before = byId.get(id);
    if (before) expect(t, `replayed ${id}`).toEqual(before);
    else byId.set(id, t);
  }
  return byId;
}

describe('AlertEvaluator snapshots across crashes', () => {
  it('restores exactly the state it saved, at every step of a run with held windows', () => {
    const choices = Array.from({ length: 97 }, (_, i) => (i * 2_654_435_761) >>> 0);
    const positions = Array.from({ length: PARTITIONS }, () => 0);
    const evaluator = warmEvaluator(positions);
    let heldSeen = 0;
    for (let i = 0; ; i += 1) {
      const step = nextStep(positions, choices[i % choices.length]! + i);
      if (!step) break;
      apply(evaluator, step, positions);
      if (i % 13 !== 0) continue;
      const snapshot = evaluator.snapshot();
      if ((snapshot.held?.length ?? 0) > 0) heldSeen += 1;
      const restored = AlertEvaluator.restore(CONFIG, JSON.parse(JSON.stringify(snapshot)), OPTIONS);
      expect(restored.snapshot()).toEqual(JSON.parse(JSON.stringify(snapshot)));
      expect(restored.heldCount).toBe(evaluator.heldCount);
      expect(restored.eventTime).toBe(evaluator.eventTime);
    }
    expect(heldSeen).toBeGreaterThan(5);
  });

  it('gives the same alerts as an uninterrupted run for random interleavings, checkpoints and crashes (property)', () => {
    const straight = delivered(runWith([1], () => undefined).out);
    expect([...straight.values()].filter((t) => t.type === 'firing').length).toBeGreaterThan(1);
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        fc.array(fc.tuple(fc.nat(TOTAL * 2), fc.constantFrom('checkpoint' as const, 'crash' as const)), {
          maxLength: 12,
        }),
        (choices, events) => {
          const plan = new Map(events);
          const { out } = runWith(choices, (step) => plan.get(step));
          const got = delivered(out);
          expect([...got.keys()].sort()).toEqual([...straight.keys()].sort());
          for (const [id, t] of got) expect(t, id).toEqual(straight.get(id));
        },
      ),
      { numRuns: 40 },
    );
  });
});
