import { internalTopic } from '../contract/topics.ts';

/**
 * Kafka topics of the alert path (all carry the deployment's topic prefix):
 *
 * - `alerts` (`city.alerts`, from `engine/contract/topics.ts`): the durable outbox. One CloudEvent 1.0
 *   (structured JSON) per lifecycle transition, keyed by alert id (so an alert's firing and resolved stay
 *   in order on one partition). The evaluator writes it, the dispatcher and the live map read it.
 * - `acks` (`city.alert-acks`, compacted, 7 days): one record per settled delivery, keyed
 *   `<event id>|<endpoint id>`, so a restarted dispatcher does not send again what a receiver acknowledged.
 * - `deadLetters` (`city.alert-dead-letters`): deliveries that ran out of their retry budget.
 * - `evaluatorState` (`city.alert-evaluator-state`, compacted): the evaluator's snapshots.
 * - `caseEvents` (`city.case-events`, kept until deleted): every event of every case, keyed by case id
 *   (docs/cases.md); the case service rebuilds its cases from it.
 * - `caseActions` (`city.case-actions`, 7 days): actions taken on the map's console, which only the map
 *   server writes and the case service applies.
 */
export function alertTopics(prefix = '') {
  return {
    alerts: internalTopic('alerts', prefix),
    acks: internalTopic('alertAcks', prefix),
    deadLetters: internalTopic('alertDeadLetters', prefix),
    evaluatorState: internalTopic('alertEvaluatorState', prefix),
    caseEvents: internalTopic('caseEvents', prefix),
    caseActions: internalTopic('caseActions', prefix),
  } as const;
}

export type AlertTopics = ReturnType<typeof alertTopics>;
