import { canBeCut, type TopicAccess } from '../access/layerCut.ts';
import type { Logger } from '../observability/logger.ts';
import {
  accessOf,
  ClientSession,
  type ClientSocket,
  cutKeyOf,
  type Principal,
  refusalText,
} from './clientSession.ts';
import type { DistrictInfo } from './districtBoundaries.ts';
import { FANOUT_DEFAULTS, type FanoutOptions } from './fanoutOptions.ts';
import { FlushSchedule } from './flushSchedule.ts';
import type { LiveState } from './liveState.ts';
import {
  CLOSE_CODES,
  ClientMessage,
  type ErrorMessage,
  type HelloMessage,
  LAYERS,
  PROTOCOL_VERSION,
  type SubscribedMessage,
} from './protocol.ts';
import type { ServerMetrics } from './serverMetrics.ts';
import { subscriptionTopics } from './subscriptionTopics.ts';
import { cutFrame, TopicCuts } from './topicCuts.ts';

const NO_CUTS: ReadonlyMap<string, string> = new Map();

/** Close code for a client that keeps sending past its limit (RFC 6455 policy violation). */
const POLICY_VIOLATION = 1008;

/**
 * Connects the live state to the WebSocket clients: answers subscriptions with snapshots or resumes,
 * flushes the state once per tick (one serialised delta per changed topic, published with
 * `publish(topic, payload)`, i.e. uWS topic fan-out), and keeps slow clients from slowing anyone:
 * a client whose send buffer passes `highWaterBytes` is unsubscribed (deltas skipped), then caught up
 * with one compacted catch-up per topic (latest value wins) when it drains, and disconnected if it
 * stays behind past `slowClientTimeoutMs` or its buffer passes `maxBufferedBytes`.
 *
 * @example
 * const hub = new FanoutHub(state, districts, (topic, payload) => app.publish(topic, payload), metrics, logger);
 * hub.start();
 */
export class FanoutHub {
  readonly options: FanoutOptions;
  /** Identifies this server run in `hello`; a resume with another epoch gets snapshots. */
  readonly epoch: string;
  private readonly sessions = new Set<ClientSession>();
  private readonly laggingByTopic = new Map<string, number>();
  private nextId = 1;
  /** Told of every topic frame a client is sent (the exchange ledger counts them). */
  deliveries: ((principal: Principal, topic: string, bytes: number) => void) | undefined;
  private readonly schedule: FlushSchedule;
  private housekeeping: NodeJS.Timeout | undefined;
  private lastEvict = 0;
  private readonly districtCodes: Set<string>;
  private readonly cuts = new TopicCuts();

  constructor(
    private readonly state: LiveState,
    private readonly districts: readonly DistrictInfo[],
    private readonly publish: (topic: string, payload: string) => void,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
    options: Partial<FanoutOptions> = {},
  ) {
    this.options = Object.freeze({ ...FANOUT_DEFAULTS, ...options });
    this.epoch = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.districtCodes = new Set([...districts.map((d) => d.code), 'outside']);
    this.schedule = new FlushSchedule(this.options, () => this.flush());
    state.onChange = () => this.schedule.changed();
  }

  /** Starts the housekeeping timer (catch-ups, slow-client limits, eviction). */
  start(): void {
    this.housekeeping ??= setInterval(() => this.housekeep(), this.options.tickMs);
    this.housekeeping.unref();
  }

  /** Stops the timers and closes every client with 1001 (going away). */
  stop(): void {
    clearInterval(this.housekeeping);
    this.schedule.cancel();
    this.housekeeping = undefined;
    for (const session of [...this.sessions]) {
      this.metrics.disconnects.inc({ reason: 'shutdown' });
      this.forget(session);
      session.socket.end(CLOSE_CODES.goingAway, 'server shutting down');
    }
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  /** Registers a new connection and greets it. */
  open(socket: ClientSocket, principal: Principal): ClientSession {
    const session = new ClientSession(this.nextId++, socket, principal);
    this.sessions.add(session);
    this.metrics.connections.inc();
    this.metrics.clients.set(this.sessions.size);
    const hello: HelloMessage = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      epoch: this.epoch,
      tickMs: this.options.tickMs,
      layers: LAYERS,
      districts: [...this.districtCodes],
      resolutions: this.state.resolutions(),
      serverTime: Date.now(),
    };
    socket.send(JSON.stringify(hello));
    return session;
  }

  /** The connection closed (by either side). */
  close(session: ClientSession, reason = 'client'): void {
    if (session.closed) return;
    this.metrics.disconnects.inc({ reason });
    this.forget(session);
  }

  /** A text message from a client. */
  message(session: ClientSession, text: string): void {
    if (!this.admit(session)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.reject(session, 'BAD_MESSAGE', 'not JSON');
      return;
    }
    const result = ClientMessage.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      this.reject(
        session,
        'BAD_MESSAGE',
        `invalid message: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`,
      );
      return;
    }
    const message = result.data;
    if (message.type === 'ping') {
      session.socket.send(JSON.stringify({ type: 'pong', t: message.t, serverTime: Date.now() }));
      return;
    }
    this.subscribe(session, message);
  }

  /** Takes a token for one client message; past the limit it answers RATE_LIMITED, then closes (1008). */
  private admit(session: ClientSession): boolean {
    const { messageBurst, messagesPerSecond } = this.options;
    const now = Date.now();
    if (Number.isNaN(session.tokens)) session.tokens = messageBurst;
    session.tokens = Math.min(
      messageBurst,
      session.tokens + ((now - session.refilledAt) / 1000) * messagesPerSecond,
    );
    session.refilledAt = now;
    if (session.tokens >= 1) {
      session.tokens -= 1;
      session.dropped = 0;
      return true;
    }
    session.dropped += 1;
    this.metrics.badClientMessages.inc();
    if (session.dropped === 1) {
      this.reject(session, 'RATE_LIMITED', `more than ${messagesPerSecond} messages a second: ignored`);
    } else if (session.dropped >= messageBurst) {
      this.metrics.disconnects.inc({ reason: 'rate_limit' });
      this.forget(session);
      session.socket.end(POLICY_VIOLATION, 'too many messages');
    }
    return false;
  }

  /** The client's send buffer drained (uWS `drain`): catch it up now rather than at the next tick. */
  drain(session: ClientSession): void {
    if (session.lagging && session.socket.getBufferedAmount() <= this.options.lowWaterBytes)
      this.catchUp(session);
  }

  /**
   * Takes from every client the topics its principal may no longer have (a grant revoked or expired),
   * with a FORBIDDEN message naming them, and closes (1008) the clients whose credential was withdrawn;
   * returns how many topics were taken.
   */
  recheck(): number {
    let taken = 0;
    for (const session of [...this.sessions]) {
      if (session.principal.stillValid?.() === false) {
        this.metrics.disconnects.inc({ reason: 'credential' });
        this.forget(session);
        session.socket.end(POLICY_VIOLATION, 'credential withdrawn');
        continue;
      }
      const verdicts = new Map([...session.topics].map((t) => [t, accessOf(session.principal, t)]));
      const lost = [...verdicts].filter(([, v]) => 'refused' in v).map(([t]) => t);
      for (const [topic, verdict] of verdicts)
        if (!('refused' in verdict) && cutKeyOf(verdict) !== session.cuts.get(topic)?.key)
          this.recut(session, topic, verdict);
      if (lost.length === 0) continue;
      for (const topic of lost) this.drop(session, topic);
      this.reject(session, 'FORBIDDEN', `no longer allowed: ${refusalText(lost, verdicts)}`);
      taken += lost.length;
    }
    return taken;
  }

  /** Flushes pending changes now (tests and shutdown); normally the tick does it. */
  flushNow(): void {
    this.schedule.cancel();
    this.flush();
  }

  private subscribe(session: ClientSession, message: Extract<ClientMessage, { type: 'subscribe' }>): void {
    const wanted = this.resolveTopics(message);
    const verdicts = new Map(wanted.topics.map((t) => [t, accessOf(session.principal, t)]));
    const allowed = wanted.topics.filter((topic) => !('refused' in verdicts.get(topic)!));
    if (allowed.length < wanted.topics.length) {
      const refused = wanted.topics.filter((t) => !allowed.includes(t));
      this.reject(session, 'FORBIDDEN', `not allowed: ${refusalText(refused, verdicts)}`);
    }
    const next = new Set(allowed);
    for (const topic of [...session.topics]) if (!next.has(topic)) this.drop(session, topic);
    const subscribed: SubscribedMessage = {
      type: 'subscribed',
      topics: allowed,
      resolution: wanted.resolution,
    };
    session.socket.send(JSON.stringify(subscribed));
    // Each resume makes the server compact a catch-up per topic: one per connection, the reconnect's.
    const resumeSeqs =
      message.resume?.epoch === this.epoch && !session.resumed ? message.resume.seqs : undefined;
    if (message.resume) session.resumed = true;
    const now = Date.now();
    for (const topic of allowed) {
      const channel = this.state.channel(topic);
      const already = session.topics.has(topic);
      // A department's state of a layer that can be cut may be in another cut than now: a snapshot.
      const since = session.principal.access && canBeCut(topic) ? undefined : resumeSeqs?.[topic];
      if (already && since === undefined) continue;
      if (!already) this.setCut(session, topic, verdicts.get(topic)!);
      if (since !== undefined) {
        const catchup = channel.catchupSince(since, now);
        if (catchup === null) {
          this.metrics.resumes.inc({ outcome: 'current' });
        } else if (catchup !== undefined) {
          this.metrics.resumes.inc({ outcome: 'catchup' });
          this.metrics.catchups.inc();
          this.sendFrame(session, topic, catchup);
        } else {
          this.metrics.resumes.inc({ outcome: 'snapshot' });
          this.sendSnapshot(session, topic, now);
        }
      } else {
        this.sendSnapshot(session, topic, now);
      }
      if (session.lagging) {
        // Still draining: it gets this topic with the catch-up, like the others.
        if (!session.lagging.has(topic)) this.incLagging(topic);
        session.lagging.set(topic, channel.seq);
      } else if (!already) {
        session.socket.subscribe(this.cuts.channel(topic, session.cuts.get(topic)));
      }
      session.topics.add(topic);
    }
  }

  /** Stops sending a topic to a client. */
  private drop(session: ClientSession, topic: string): void {
    session.topics.delete(topic);
    const cut = session.cuts.get(topic);
    session.socket.unsubscribe(this.cuts.channel(topic, cut));
    if (cut) this.cuts.remove(topic, cut);
    session.cuts.delete(topic);
    if (session.lagging?.delete(topic)) this.decLagging(topic);
  }

  /** Notes the cut of a topic the client is about to get, by the verdict that allowed it. */
  private setCut(session: ClientSession, topic: string, verdict: TopicAccess): void {
    if (!('cut' in verdict)) return;
    session.cuts.set(topic, verdict.cut);
    this.cuts.add(topic, verdict.cut);
  }

  /** The client's cut of a topic changed (a grant of other items): it gets the topic again, afresh. */
  private recut(session: ClientSession, topic: string, verdict: TopicAccess): void {
    this.drop(session, topic);
    this.setCut(session, topic, verdict);
    this.sendSnapshot(session, topic, Date.now());
    if (session.lagging) {
      this.incLagging(topic);
      session.lagging.set(topic, this.state.channel(topic).seq);
    } else session.socket.subscribe(this.cuts.channel(topic, session.cuts.get(topic)));
    session.topics.add(topic);
  }

  /** Sends one topic's frame to one client, cut as it gets the topic. */
  private sendFrame(session: ClientSession, topic: string, frame: string): void {
    const cut = session.cuts.get(topic);
    this.send(session, topic, cut === undefined ? frame : cutFrame(frame, cut));
  }

  private send(session: ClientSession, topic: string, frame: string): void {
    session.socket.send(frame);
    this.deliveries?.(session.principal, topic, Buffer.byteLength(frame));
  }

  private sendSnapshot(session: ClientSession, topic: string, now: number): void {
    const channel = this.state.channel(topic);
    const cut = session.cuts.get(topic);
    const frame = channel.snapshot(now);
    this.send(session, topic, cut === undefined ? frame : this.cuts.snapshot(topic, channel.seq, cut, frame));
    this.metrics.snapshots.inc();
  }

  /** Topics of a subscribe message: layers x districts (area), cells at the chosen H3 resolution. */
  resolveTopics(message: Extract<ClientMessage, { type: 'subscribe' }>): {
    topics: string[];
    resolution: number | null;
  } {
    return subscriptionTopics(message, this.districts, this.districtCodes, this.state.resolutions());
  }

  private reject(session: ClientSession, code: ErrorMessage['code'], text: string): void {
    if (code === 'BAD_MESSAGE') this.metrics.badClientMessages.inc();
    const message: ErrorMessage = { type: 'error', code, message: text };
    session.socket.send(JSON.stringify(message));
  }

  private flush(): void {
    const started = performance.now();
    const now = Date.now();
    this.schedule.flushing(now);
    // Before publishing: clients that are too far behind stop getting deltas (they get the latest
    // values once drained), so their buffers stay bounded and nobody waits for them.
    let maxBuffer = 0;
    for (const session of this.sessions) {
      if (session.lagging) continue;
      const buffered = session.socket.getBufferedAmount();
      if (buffered > maxBuffer) maxBuffer = buffered;
      if (buffered > this.options.maxBufferedBytes) this.disconnect(session, 'buffer_limit');
      else if (buffered > this.options.highWaterBytes) this.startLagging(session, now);
    }
    this.metrics.maxClientBuffer.set(maxBuffer);
    this.state.flush(now, (topic, payload, layer) => {
      this.publish(topic, payload);
      const variants = this.cuts.variants(topic, payload);
      for (const [channel, cutPayload] of variants) {
        this.publish(channel, cutPayload);
        this.metrics.bytesPublished.inc({ layer }, cutPayload.length);
      }
      if (this.deliveries)
        this.countPublished(topic, payload, variants.length > 0 ? new Map(variants) : NO_CUTS);
      this.metrics.deltasPublished.inc({ layer });
      this.metrics.bytesPublished.inc({ layer }, payload.length);
      const lagging = this.laggingByTopic.get(topic);
      if (lagging) this.metrics.deltasSkipped.inc(lagging);
    });
    this.metrics.flushDuration.observe((performance.now() - started) / 1000);
  }

  /** A published frame reached every client subscribed to its topic and not lagging, each in its cut. */
  private countPublished(topic: string, payload: string, variants: ReadonlyMap<string, string>): void {
    const bytes = Buffer.byteLength(payload);
    for (const session of this.sessions) {
      if (session.lagging || !session.topics.has(topic)) continue;
      const cut = session.cuts.get(topic);
      const cutPayload = cut === undefined ? undefined : variants.get(this.cuts.channel(topic, cut));
      const sent = cut === undefined ? bytes : Buffer.byteLength(cutPayload ?? cutFrame(payload, cut));
      this.deliveries?.(session.principal, topic, sent);
    }
  }

  private housekeep(): void {
    const now = Date.now();
    for (const session of this.sessions) {
      if (!session.lagging) continue;
      const buffered = session.socket.getBufferedAmount();
      if (buffered > this.options.maxBufferedBytes) this.disconnect(session, 'buffer_limit');
      else if (now - session.laggingSince > this.options.slowClientTimeoutMs)
        this.disconnect(session, 'slow_consumer');
      else if (buffered <= this.options.lowWaterBytes) this.catchUp(session);
    }
    if (now - this.lastEvict >= this.options.evictEveryMs) {
      this.lastEvict = now;
      this.state.evict(now);
      let bytes = 0;
      const topics = this.state.topics();
      for (const topic of topics) bytes += this.state.peek(topic)?.retainedByteCount ?? 0;
      this.metrics.resumeBufferBytes.set(bytes);
      this.metrics.topics.set(topics.length);
    }
  }

  private startLagging(session: ClientSession, now: number): void {
    session.lagging = new Map();
    session.laggingSince = now;
    for (const topic of session.topics) {
      session.socket.unsubscribe(this.cuts.channel(topic, session.cuts.get(topic)));
      session.lagging.set(topic, this.state.channel(topic).seq);
      this.incLagging(topic);
    }
    this.metrics.slowEvents.inc();
    this.metrics.laggingClients.inc();
    this.logger.debug({ client: session.id }, 'client fell behind: skipping deltas until it drains');
  }

  private catchUp(session: ClientSession): void {
    const lagging = session.lagging;
    if (!lagging) return;
    session.lagging = undefined;
    this.metrics.laggingClients.dec();
    const now = Date.now();
    for (const [topic, since] of lagging) {
      this.decLagging(topic);
      const channel = this.state.channel(topic);
      const catchup = channel.catchupSince(since, now);
      if (catchup === undefined) this.sendSnapshot(session, topic, now);
      else if (catchup !== null) {
        this.sendFrame(session, topic, catchup);
        this.metrics.catchups.inc();
      }
      session.socket.subscribe(this.cuts.channel(topic, session.cuts.get(topic)));
    }
  }

  private disconnect(session: ClientSession, reason: 'slow_consumer' | 'buffer_limit'): void {
    this.metrics.disconnects.inc({ reason });
    this.forget(session);
    this.logger.info({ client: session.id, reason }, 'disconnecting a client that stayed behind');
    // Its buffer is full, so a close frame would wait behind it: close the connection at once.
    session.socket.close();
  }

  private forget(session: ClientSession): void {
    session.closed = true;
    for (const [topic, cut] of session.cuts) this.cuts.remove(topic, cut);
    session.cuts.clear();
    if (session.lagging) {
      for (const topic of session.lagging.keys()) this.decLagging(topic);
      session.lagging = undefined;
      this.metrics.laggingClients.dec();
    }
    this.sessions.delete(session);
    this.metrics.clients.set(this.sessions.size);
  }

  private incLagging(topic: string): void {
    this.laggingByTopic.set(topic, (this.laggingByTopic.get(topic) ?? 0) + 1);
  }

  private decLagging(topic: string): void {
    const count = (this.laggingByTopic.get(topic) ?? 1) - 1;
    if (count <= 0) this.laggingByTopic.delete(topic);
    else this.laggingByTopic.set(topic, count);
  }
}
