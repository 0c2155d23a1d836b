import WebSocket from 'ws';
import type { ServerMessage } from '../../../engine/server/protocol.ts';

/**
 * A WebSocket client of the map protocol for tests: applies snapshots, deltas and catch-ups to its own
 * copy of each topic, checks that seqs follow each other, and records what arrived when.
 */
export class ProtocolClient {
  readonly state = new Map<string, Map<string, unknown>>();
  readonly seqs = new Map<string, number>();
  readonly messages: Array<{ at: number; message: ServerMessage }> = [];
  /** Seq problems seen (a delta that did not follow the previous seq). */
  readonly gaps: string[] = [];
  /** Topic frames (snapshot, delta, catch-up) received, and their bytes as sent. */
  frames = 0;
  frameBytes = 0;
  epoch: string | undefined;
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  private readonly waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => this.handle(String(data)));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.check();
    });
  }

  /** Connects and waits for `hello`. */
  static async connect(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}) {
    const ws = new WebSocket(url, options.protocols ?? [], options);
    const client = new ProtocolClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      client.until(() => client.epoch !== undefined).then(resolve, reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Subscribes; with `resume`, sends this client's seqs and the given epoch. */
  subscribe(layers: string[], extra: Record<string, unknown> = {}, resumeEpoch?: string): void {
    const resume = resumeEpoch ? { resume: { epoch: resumeEpoch, seqs: Object.fromEntries(this.seqs) } } : {};
    this.send({ type: 'subscribe', layers, ...extra, ...resume });
  }

  /** Resolves once `test()` holds (checked after every message), or rejects after `timeoutMs`. */
  until(test: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  of(type: ServerMessage['type']): ServerMessage[] {
    return this.messages.filter((m) => m.message.type === type).map((m) => m.message);
  }

  close(): void {
    this.ws.terminate();
  }

  private handle(text: string): void {
    const message = JSON.parse(text) as ServerMessage;
    this.messages.push({ at: Date.now(), message });
    if (message.type === 'snapshot' || message.type === 'delta' || message.type === 'catchup') {
      this.frames += 1;
      this.frameBytes += Buffer.byteLength(text);
    }
    switch (message.type) {
      case 'hello':
        this.epoch = message.epoch;
        break;
      case 'snapshot':
        this.state.set(message.topic, new Map(message.entities));
        this.seqs.set(message.topic, message.seq);
        break;
      case 'delta': {
        const have = this.seqs.get(message.topic);
        if (have === undefined) break;
        if (message.seq !== have + 1) {
          this.gaps.push(`${message.topic}: had ${have}, got ${message.seq}`);
          break;
        }
        this.applyChanges(message.topic, message.up, message.rm);
        this.seqs.set(message.topic, message.seq);
        break;
      }
      case 'catchup': {
        if (this.seqs.get(message.topic) !== message.from) {
          this.gaps.push(
            `${message.topic}: catch-up from ${message.from}, had ${this.seqs.get(message.topic)}`,
          );
          break;
        }
        this.applyChanges(message.topic, message.up, message.rm);
        this.seqs.set(message.topic, message.seq);
        break;
      }
      default:
        break;
    }
    this.check();
  }

  private applyChanges(topic: string, up: Array<[string, unknown]>, rm: string[]): void {
    let map = this.state.get(topic);
    if (!map) {
      map = new Map();
      this.state.set(topic, map);
    }
    for (const key of rm) map.delete(key);
    for (const [key, value] of up) map.set(key, value);
  }

  private check(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.test()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}
