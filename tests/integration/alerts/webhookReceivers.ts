import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookVerifier } from '../../../engine/alerts/webhookReceiver.ts';

/** What a receiver does with one verified request: answer (status, headers) or hang for `ms` first. */
export type ReceiverAction =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly delayMs?: number }
  | { readonly destroy: true };

/** One request as a receiver saw it. */
export interface ReceivedRequest {
  readonly id: string;
  readonly at: number;
  readonly body: string;
  /** 'accepted' (first time), 'replayed' (id seen before), or why it was refused. */
  readonly verdict: string;
  /** Status answered; 0 when the connection was dropped. */
  readonly status: number;
  /** The sender had gone when the answer was ready (timeout): a 2xx that was lost. */
  readonly lost: boolean;
}

/**
 * A real HTTP webhook receiver on 127.0.0.1 for the alert tests: verifies each request with the
 * standardwebhooks library (via `WebhookVerifier`), answers 401 to a bad signature, 200 to a replay of an
 * id it accepted before (counted), and otherwise does what `behaviour` says for that request. It can go
 * down (`stop`) and come back on the same port (`start`).
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server: Server | undefined;
  private readonly verifier: WebhookVerifier;
  private readonly attemptsById = new Map<string, number>();
  private readonly sockets = new Set<import('node:net').Socket>();
  port = 0;
  /** Requests being answered (delayed) right now. */
  answering = 0;

  constructor(
    readonly name: string,
    secrets: readonly string[],
    private readonly behaviour: (
      id: string,
      attempt: number,
      receiver: TestReceiver,
    ) => ReceiverAction = () => ({ status: 200 }),
  ) {
    this.verifier = new WebhookVerifier(secrets);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes the port and drops open connections: the endpoint is down. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Ids the receiver acted on or acknowledged with a 2xx (lost ones included), with how many times. */
  delivered(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.requests) {
      if (r.status >= 200 && r.status < 300 && (r.verdict === 'accepted' || r.verdict === 'replayed')) {
        counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
      }
    }
    return counts;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const headers = req.headers as Record<string, string>;
    const id = headers['webhook-id'] ?? '';
    const record: ReceivedRequest = { id, at: Date.now(), body, verdict: '', status: 0, lost: false };
    const verdict = this.verifier.verify(body, headers);
    if (!verdict.ok && verdict.reason !== 'replayed') {
      Object.assign(record, { verdict: verdict.reason, status: 401 });
      this.requests.push(record);
      res.writeHead(401).end(verdict.detail);
      return;
    }
    const attempt = (this.attemptsById.get(id) ?? 0) + 1;
    this.attemptsById.set(id, attempt);
    const action = verdict.ok ? this.behaviour(id, attempt, this) : { status: 200 };
    // Recorded on arrival, so the order of `requests` is the order of arrival; completed when answered.
    Object.assign(record, { verdict: verdict.ok ? 'accepted' : 'replayed' });
    this.requests.push(record);
    if ('destroy' in action) {
      Object.assign(record, { verdict: 'dropped', status: 0 });
      if (verdict.ok) this.verifier.forget(id);
      req.socket.destroy();
      return;
    }
    this.answering += 1;
    try {
      if (action.delayMs) await new Promise((resolve) => setTimeout(resolve, action.delayMs));
      if (verdict.ok && (action.status < 200 || action.status >= 300)) this.verifier.forget(id);
      // The receiver acts on the request even when the sender gave up waiting (timeout): its 2xx is then
      // lost, the realistic worst case, and the sender's retry comes back as a replay of an accepted id.
      const lost = req.socket.destroyed;
      Object.assign(record, { status: action.status, lost });
      if (!lost)
        res.writeHead(action.status, action.headers ?? {}).end(action.status < 300 ? 'ok' : 'try later');
    } finally {
      this.answering -= 1;
    }
  }
}
