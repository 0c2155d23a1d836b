import { createHash, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Principal } from '../server/clientSession.ts';
import type { History } from '../server/historyQuery.ts';
import { layerOfTopic } from '../server/protocol.ts';
import { type DepartmentTokenEntry, departmentOfToken, readDepartmentTokens } from './departmentTokens.ts';
import { type AccessPolicy, HISTORY_CLASSES, HISTORY_ROWS, type HistorySource, refusalOf } from './exits.ts';
import { layerAccess } from './layerCut.ts';

/** The map server's access model: the operator's token, and the departments' tokens judged by a policy. */
export interface MapAccess {
  /** The departments' tokens, as read now (a getter, so a newly issued token works without a restart). */
  tokens(): readonly DepartmentTokenEntry[];
  policy: AccessPolicy;
  /** How often open subscriptions are judged again, for expiries and revocations (ms, default 5 s). */
  recheckMs?: number;
  /** For /health: false when the departments depend on grants that cannot be read. */
  health?(): { ok: boolean } & Record<string, unknown>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The principal of a department's token: the topics whose classes it receives, whole or cut to the items
 * its grants name (engine/access/layerCut.ts), for as long as
 * `stillValid()` (the token is still the department's: not replaced by a new one, not removed).
 */
export function departmentPrincipal(
  department: string,
  policy: AccessPolicy,
  stillValid: () => boolean = () => true,
): Principal {
  // A verdict per layer holds for a second: the hub asks once per topic (a layer has up to 11), and
  // every few seconds for every open topic; a second is nothing against the 60 s a revocation may take.
  const verdicts = new Map<string, { at: number; access: ReturnType<typeof layerAccess> }>();
  const access = (topic: string) => {
    const layer = layerOfTopic(topic);
    const now = Date.now();
    const known = verdicts.get(layer);
    if (known !== undefined && now - known.at < 1_000) return known.access;
    const verdict = layerAccess(policy, department, topic, now);
    verdicts.set(layer, { at: now, access: verdict });
    return verdict;
  };
  const refusal = (topic: string) => {
    const verdict = access(topic);
    return 'refused' in verdict ? verdict.refused : undefined;
  };
  return {
    subject: `department:${department}`,
    department,
    canSubscribe: (topic) => refusal(topic) === undefined,
    refusal,
    access,
    stillValid,
  };
}

/**
 * Who presents a token: the operator (the operations centre that runs the platform; it sees every layer),
 * a department, or nobody (undefined: refused).
 */
export function createAuthorize(
  operatorToken: string,
  access: MapAccess | undefined,
): (token: string | undefined) => Principal | undefined {
  const operatorDigest = digest(operatorToken);
  const operator: Principal = { subject: 'operator', canSubscribe: () => true };
  return (token) => {
    if (token === undefined) return undefined;
    if (timingSafeEqual(digest(token), operatorDigest)) return operator;
    if (access === undefined) return undefined;
    const department = departmentOfToken(access.tokens(), token);
    if (department === undefined) return undefined;
    return departmentPrincipal(
      department,
      access.policy,
      () => departmentOfToken(access.tokens(), token) === department,
    );
  };
}

/** Why each history table is withheld from a principal (absent: it goes out). */
export function historyRefusals(
  principal: Principal,
  policy: AccessPolicy | undefined,
): Partial<Record<HistorySource, string>> {
  const refusals: Partial<Record<HistorySource, string>> = {};
  if (principal.department === undefined) return refusals;
  for (const [source, classId] of Object.entries(HISTORY_CLASSES) as [HistorySource, string][]) {
    const why =
      policy === undefined
        ? 'no access policy on this server'
        : refusalOf(policy, principal.department, classId);
    if (why !== undefined) refusals[source] = why;
  }
  return refusals;
}

/** A history answer without the rows of the withheld tables; each says why it is empty. */
export function withholdHistory(history: History, refusals: Partial<Record<HistorySource, string>>): History {
  const out: History = { ...history, sources: { ...history.sources } };
  for (const [source, why] of Object.entries(refusals) as [HistorySource, string][]) {
    out.sources[source] = { available: false, note: `not granted: ${why}` };
    out[HISTORY_ROWS[source]] = [];
  }
  return out;
}

/**
 * The department tokens file, read again when its modification time changes. A file that cannot be read
 * is no department tokens (fail closed), reported once per change through `onError`.
 */
export function tokensFromFile(
  path: string,
  onError: (error: unknown) => void = () => {},
): () => readonly DepartmentTokenEntry[] {
  let mtime = -1;
  let entries: readonly DepartmentTokenEntry[] = [];
  return () => {
    let now = 0;
    try {
      now = statSync(path).mtimeMs;
    } catch {
      // No file: no department tokens.
    }
    if (now === mtime) return entries;
    mtime = now;
    try {
      entries = now === 0 ? [] : readDepartmentTokens(path);
    } catch (error) {
      entries = [];
      onError(error);
    }
    return entries;
  };
}
