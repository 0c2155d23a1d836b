import type uWS from 'uWebSockets.js';
import type { Logger } from '../observability/logger.ts';

/** A uWebSockets.js HTTP handler. */
export type Route = (res: uWS.HttpResponse, req: uWS.HttpRequest) => void;

/**
 * Writes a whole answer, corked. Does nothing when the client has gone: uWS throws when an aborted
 * response is written to, and that must not turn a closed connection into a failed handler.
 */
export function send(
  res: uWS.HttpResponse,
  status: string,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', type);
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(body);
  });
}

/**
 * Wraps a handler so that whatever it throws becomes a `500` answer and a log line, never an exception into
 * uWS (which ends the process): one request must not stop a server that serves everyone. `onError` counts it.
 */
export function guarded(
  route: string,
  handler: Route,
  logger: Logger,
  onError: (route: string) => void,
): Route {
  return (res, req) => {
    let url = '';
    try {
      url = req.getUrl();
      handler(res, req);
    } catch (error) {
      onError(route);
      logger.error({ err: error, route, url: printable(url) }, 'request handler failed; answered 500');
      try {
        send(res, '500 Internal Server Error', 'text/plain', `internal error while serving ${route}\n`);
      } catch {
        // The handler had answered (or the client left) before it threw: nothing more to say.
      }
    }
  };
}

/**
 * Decodes the percent-escapes of a URL path, or returns undefined when they are malformed (`%E0%A4%A`, a
 * lone `%`) or decode to a control character or NUL: such a path names no file of ours.
 */
export function decodePath(path: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  return /\p{Cc}/u.test(decoded) ? undefined : decoded;
}

/** A request value as it may go into a log line: bounded, control characters escaped. */
export function printable(value: string, limit = 200): string {
  const cut = value.length > limit ? `${value.slice(0, limit)}…` : value;
  return cut.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
