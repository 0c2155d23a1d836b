import type { FieldCut, TopicAccess } from '../access/layerCut.ts';

/** The part of a uWebSockets.js WebSocket the hub uses. */
export interface ClientSocket {
  send(payload: string): number;
  getBufferedAmount(): number;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  end(code: number, reason: string): void;
  /** Closes at once, without a close frame (which could not get through a full buffer anyway). */
  close(): void;
}

/**
 * Who a client is and what it may see. The operator's token sees every topic; a department's token sees
 * what the catalogue and its grants let out (engine/access/mapAccess.ts).
 */
export interface Principal {
  readonly subject: string;
  /** The catalogue's department, for a department's token. */
  readonly department?: string;
  canSubscribe(topic: string): boolean;
  /** Why a topic is refused, for the client's FORBIDDEN message. */
  refusal?(topic: string): string | undefined;
  /** False once the credential is withdrawn (a department's token replaced): its sessions are closed. */
  stillValid?(): boolean;
  /**
   * What it gets of a topic, judged once for both questions: whether, and how cut (a department's
   * grants). Without it, `canSubscribe` decides and the topic goes whole.
   */
  access?(topic: string): TopicAccess;
}

const WHOLE: TopicAccess = { whole: true };

/** A principal's verdict on a topic, judged once (the allow check and the cut must agree). */
export function accessOf(principal: Principal, topic: string): TopicAccess {
  if (principal.access) return principal.access(topic);
  return principal.canSubscribe(topic) ? WHOLE : { refused: principal.refusal?.(topic) ?? 'not allowed' };
}

export const cutKeyOf = (access: TopicAccess) => ('cut' in access ? access.cut.key : undefined);

/** `topics (why); topics (why)`: the refused topics grouped by their reason. */
export function refusalText(topics: readonly string[], verdicts: ReadonlyMap<string, TopicAccess>): string {
  const byReason = new Map<string, string[]>();
  for (const topic of topics) {
    const verdict = verdicts.get(topic);
    const why = verdict !== undefined && 'refused' in verdict ? verdict.refused : 'not allowed';
    byReason.set(why, [...(byReason.get(why) ?? []), topic]);
  }
  return [...byReason].map(([why, list]) => `${list.join(', ')} (${why})`).join('; ');
}

/** One connected client. */
export class ClientSession {
  readonly topics = new Set<string>();
  /** The topics it gets cut (a department with a grant of some items), and how. */
  readonly cuts = new Map<string, FieldCut>();
  /** While lagging: the last seq the client got, per topic; it is unsubscribed from those topics. */
  lagging: Map<string, number> | undefined;
  laggingSince = 0;
  closed = false;
  /** The one resume this connection may ask for has been used (a reconnect resumes once). */
  resumed = false;
  /** Token bucket of client messages: tokens left and when it was last refilled. */
  tokens = Number.NaN;
  refilledAt = 0;
  /** Messages dropped by the rate limit in a row. */
  dropped = 0;

  constructor(
    readonly id: number,
    readonly socket: ClientSocket,
    readonly principal: Principal,
  ) {}
}
