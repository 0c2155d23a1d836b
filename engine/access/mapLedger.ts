import { exitItems } from '../catalogue/negativeList.ts';
import { project } from '../catalogue/projection.ts';
import type { Principal } from '../server/clientSession.ts';
import type { History } from '../server/historyQuery.ts';
import { layerOfTopic } from '../server/protocol.ts';
import type { ExchangeLedger } from './exchangeLedger.ts';
import {
  type AccessPolicy,
  HISTORY_CLASSES,
  HISTORY_ROWS,
  type HistorySource,
  LAYER_CLASSES,
} from './exits.ts';

/** The consumer a principal stands for in the ledger: its department, or the operator's own centre. */
export const OPERATOR_CONSUMER = 'operations-centre';

/**
 * What the map server tells the ledger: each WebSocket frame (summed per consumer and class until the
 * ledger seals them) and each history answer (a row per table delivered). A layer that shows two
 * classes (`incidents`) is counted under its first.
 */
export function mapLedger(ledger: ExchangeLedger, policy: AccessPolicy) {
  const provider = (classId: string) =>
    policy.catalogue.resources.find((r) => r.id === classId)?.provider ?? '';
  const items = (principal: Principal, classId: string): string[] => {
    const { catalogue } = policy;
    const resource = catalogue.resources.find((r) => r.id === classId);
    if (resource === undefined) return [];
    if (principal.department === undefined) return exitItems(catalogue, resource);
    const projection = project(catalogue, policy.grants(), principal.department, classId, Date.now());
    return projection.items.map((i) => i.id);
  };
  const consumer = (principal: Principal) => principal.department ?? OPERATOR_CONSUMER;
  return {
    frame(principal: Principal, topic: string, bytes: number): void {
      const classId = LAYER_CLASSES[layerOfTopic(topic)]?.[0];
      if (classId === undefined) return;
      ledger.count(consumer(principal), classId, 'websocket', bytes, () => ({
        provider: provider(classId),
        items: items(principal, classId),
      }));
    },
    /** A case list answered on the console (summed like frames), or an action taken there. */
    cases(principal: Principal, bytes: number, action?: { fault?: string }): void {
      const classId = 'cases.events';
      if (action === undefined) {
        ledger.count(consumer(principal), classId, 'api', bytes, () => ({
          provider: provider(classId),
          items: items(principal, classId),
        }));
        return;
      }
      const now = Date.now();
      ledger.record({
        consumer: consumer(principal),
        provider: provider(classId),
        resource: classId,
        exit: 'case-action',
        items: [],
        records: 1,
        bytes,
        event_ms: now,
        ingest_ms: 0,
        delivered_from_ms: now,
        delivered_to_ms: now,
        succeeded: action.fault === undefined,
        fault_code: action.fault ?? '',
      });
    },
    history(principal: Principal, history: History | undefined, fault?: string): void {
      const now = Date.now();
      for (const [source, classId] of Object.entries(HISTORY_CLASSES) as [HistorySource, string][]) {
        if (history !== undefined && !history.sources[source].available) continue;
        const rows = history === undefined ? [] : history[HISTORY_ROWS[source]];
        ledger.record({
          consumer: consumer(principal),
          provider: provider(classId),
          resource: classId,
          exit: 'history',
          items: items(principal, classId),
          records: rows.length,
          bytes: Buffer.byteLength(JSON.stringify(rows)),
          event_ms: history?.to ?? 0,
          ingest_ms: 0,
          delivered_from_ms: now,
          delivered_to_ms: now,
          succeeded: fault === undefined,
          fault_code: fault ?? '',
        });
      }
    },
  };
}
export type MapLedger = ReturnType<typeof mapLedger>;
