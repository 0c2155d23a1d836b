import { connect } from 'node:net';

/** What a server answered to one raw request: its status code (0 when it closed without a status line). */
export interface RawAnswer {
  readonly status: number;
  readonly head: string;
}

/**
 * Sends one HTTP/1.1 request exactly as given (request target and header values are not checked or
 * escaped, unlike fetch or node:http), and reads the status line. For hostile-input tests.
 */
export function rawRequest(
  port: number,
  target: string,
  headers: ReadonlyArray<[string, string]> = [],
  method = 'GET',
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve({ status: match ? Number(match[1]) : 0, head: received.split('\r\n\r\n')[0] ?? '' });
    };
    socket.setTimeout(10_000, () => reject(new Error(`no answer to ${method} ${target} within 10 s`)));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) done();
    });
    socket.on('end', done);
    socket.on('error', (error) => (received ? done() : reject(error)));
    const lines = [
      `${method} ${target} HTTP/1.1`,
      'Host: 127.0.0.1',
      ...headers.map(([n, v]) => `${n}: ${v}`),
    ];
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'));
  });
}
