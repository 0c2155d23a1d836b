import type {
  CatchupMessage,
  DeltaMessage,
  Entry,
  HelloMessage,
  ServerMessage,
  SnapshotMessage,
} from '../engine/server/protocol.ts';

/** What the page asks the server for (the `subscribe` message without `type` and `resume`). */
export interface Subscription {
  layers: string[];
  area?: { districts?: string[]; bbox?: [number, number, number, number] };
  zoom?: number;
  resolution?: number;
}

/** Connection state shown in the status panel. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** Called for each change of a topic: `reset` means "forget what you had for this topic first". */
export type TopicListener = (topic: string, up: Entry[], rm: string[], reset: boolean) => void;

/** Counters the page exposes on `window.__cityOps` (tests and docs/map.md read them). */
export interface ClientStats {
  connects: number;
  snapshots: number;
  deltas: number;
  catchups: number;
  gaps: number;
  bytes: number;
  /** Time spent applying messages (parse + listeners), ms. */
  applyMs: number;
  lastMessageAt: number;
  /** Server emit time minus source (Kafka) time of the last delta, ms. */
  lastDeltaAgeMs: number;
}

/**
 * The page's side of docs/protocol.md: keeps the last seq of every topic, applies snapshots, deltas
 * and catch-ups in order, asks for a resume when it sees a gap, and reconnects with backoff (resuming
 * from its seqs, or getting snapshots when the server restarted).
 *
 * Never throws from a socket callback: errors go to `onError`.
 */
export class LiveClient {
  readonly stats: ClientStats = {
    connects: 0,
    snapshots: 0,
    deltas: 0,
    catchups: 0,
    gaps: 0,
    bytes: 0,
    applyMs: 0,
    lastMessageAt: 0,
    lastDeltaAgeMs: 0,
  };
  state: ConnectionState = 'connecting';
  hello: HelloMessage | undefined;
  private socket: WebSocket | undefined;
  private readonly seqs = new Map<string, number>();
  private epoch: string | undefined;
  private subscription: Subscription | undefined;
  private backoffMs = 500;
  private stopped = false;
  private resyncPending = false;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly onTopic: TopicListener,
    private readonly onState: (state: ConnectionState) => void,
    private readonly onError: (error: unknown) => void = (e) => console.error(e),
  ) {}

  /** Opens the connection (and keeps reopening it until `stop`). */
  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Drops the connection as a network failure would; the client reconnects and resumes from its seqs. */
  dropConnection(): void {
    this.socket?.close(4000, 'dropped by the page');
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000, 'bye');
  }

  /** Sets what to receive; sent now if connected, and again after every reconnect. */
  subscribe(subscription: Subscription): void {
    this.subscription = subscription;
    this.sendSubscribe();
  }

  /** The last seq applied per topic. */
  seqOf(topic: string): number | undefined {
    return this.seqs.get(topic);
  }

  private connect(): void {
    this.setState(this.stats.connects === 0 ? 'connecting' : 'reconnecting');
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url, ['city-ops.v1', `city-ops.token.${this.token}`]);
    } catch (error) {
      this.onError(error);
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.backoffMs = 500;
      this.stats.connects += 1;
    };
    socket.onmessage = (event) => {
      try {
        this.handle(String(event.data));
      } catch (error) {
        this.onError(error);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.stopped) {
        this.setState('closed');
        return;
      }
      this.retry();
    };
    socket.onerror = () => {
      // onclose follows and schedules the retry.
    };
  }

  private retry(): void {
    this.setState('reconnecting');
    const wait = this.backoffMs;
    this.backoffMs = Math.min(5000, this.backoffMs * 2);
    setTimeout(() => {
      if (!this.stopped) this.connect();
    }, wait);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  private sendSubscribe(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !this.subscription || !this.hello) return;
    const resume =
      this.epoch !== undefined && this.seqs.size > 0
        ? { epoch: this.epoch, seqs: Object.fromEntries(this.seqs) }
        : undefined;
    socket.send(JSON.stringify({ type: 'subscribe', ...this.subscription, ...(resume ? { resume } : {}) }));
  }

  private handle(text: string): void {
    const started = performance.now();
    this.stats.bytes += text.length;
    this.stats.lastMessageAt = Date.now();
    const message = JSON.parse(text) as ServerMessage;
    switch (message.type) {
      case 'hello':
        this.hello = message;
        this.setState('live');
        this.sendSubscribe();
        // Seqs are resumable only within one server epoch; the resume above carries the old one.
        this.epoch = message.epoch;
        break;
      case 'subscribed':
        for (const topic of [...this.seqs.keys()]) {
          if (message.topics.includes(topic)) continue;
          this.seqs.delete(topic);
          this.onTopic(topic, [], [], true);
        }
        this.resyncPending = false;
        break;
      case 'snapshot':
        this.applySnapshot(message);
        break;
      case 'delta':
        this.applyDelta(message);
        break;
      case 'catchup':
        this.applyCatchup(message);
        break;
      case 'error':
        this.onError(new Error(`server: ${message.code}: ${message.message}`));
        break;
      case 'pong':
        break;
    }
    this.stats.applyMs += performance.now() - started;
  }

  private applySnapshot(message: SnapshotMessage): void {
    this.stats.snapshots += 1;
    this.seqs.set(message.topic, message.seq);
    this.onTopic(message.topic, message.entities, [], true);
  }

  private applyDelta(message: DeltaMessage): void {
    const have = this.seqs.get(message.topic);
    if (have === undefined || message.seq <= have) return; // not subscribed yet, or a repeat
    if (message.seq !== have + 1) {
      this.gap();
      return;
    }
    this.stats.deltas += 1;
    this.stats.lastDeltaAgeMs = message.t - message.src;
    this.seqs.set(message.topic, message.seq);
    this.onTopic(message.topic, message.up, message.rm, false);
  }

  private applyCatchup(message: CatchupMessage): void {
    const have = this.seqs.get(message.topic);
    if (have !== message.from) {
      if (have === undefined || message.seq > have) this.gap();
      return;
    }
    this.stats.catchups += 1;
    this.seqs.set(message.topic, message.seq);
    this.onTopic(message.topic, message.up, message.rm, false);
  }

  /** A missing seq: ask again with our seqs; the server answers with a catch-up or a snapshot. */
  private gap(): void {
    this.stats.gaps += 1;
    if (this.resyncPending) return;
    this.resyncPending = true;
    this.sendSubscribe();
  }
}
