/**
 * A deliberately cheap HTTP/1.1 load generator: C keep-alive sockets, each sending one request at
 * a time (a closed loop) from bytes built once, reading only the status line and Content-Length.
 * On a 2-core machine the generator shares the cores with the API it measures, so every
 * microsecond it spends is taken from the API: this costs a few µs per request where a
 * general-purpose client costs tens.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadOutcome {
  latenciesMs: number[];
  /** Status code → count. */
  statuses: Record<number, number>;
  /** A few bodies of answers other than `expect`, to say what went wrong. */
  samples: string[];
  seconds: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export function requestBytes(host: string, method: string, path: string, headers: Record<string, string>, body: Buffer | null): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`, 'connection: keep-alive'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body) lines.push(`content-length: ${body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n');
  return body ? Buffer.concat([head, body]) : head;
}

/** One keep-alive connection answering requests in order. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((answer: { status: number; body: Buffer }) => void) | null = null;
  private failed: ((error: Error) => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.take(chunk));
    socket.on('error', (error) => this.failed?.(error));
    socket.on('close', () => this.failed?.(new Error('connection closed')));
  }

  static open(port: number, host: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  send(request: Buffer): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private take(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headEnd = this.buffer.indexOf(HEADER_END);
    if (headEnd < 0) return;
    const head = this.buffer.subarray(0, headEnd).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const end = headEnd + 4 + length;
    if (this.buffer.length < end) return;
    const body = this.buffer.subarray(headEnd + 4, end);
    this.buffer = this.buffer.subarray(end);
    const resolve = this.waiting;
    this.waiting = null;
    this.failed = null;
    resolve?.({ status, body });
  }
}

/** Sends `count` requests (`build(i)` makes the i-th) over `concurrency` connections in a closed loop. */
export async function closedLoopLoad(
  url: string,
  count: number,
  concurrency: number,
  build: (i: number) => Buffer,
  expect: number,
  onAnswer?: (status: number, body: Buffer) => void,
): Promise<LoadOutcome> {
  const { hostname, port } = new URL(url);
  const connections = await Promise.all(Array.from({ length: Math.min(concurrency, count) }, () => Connection.open(Number(port), hostname)));
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  const samples: string[] = [];
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      connections.map(async (connection) => {
        while (next < count) {
          const request = build(next++);
          const t0 = performance.now();
          const { status, body } = await connection.send(request);
          latenciesMs.push(performance.now() - t0);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status !== expect && samples.length < 5) samples.push(`${status} ${body.toString('utf8', 0, 200)}`);
          onAnswer?.(status, body);
        }
      }),
    );
  } finally {
    for (const connection of connections) connection.close();
  }
  return { latenciesMs, statuses, samples, seconds: (performance.now() - started) / 1000 };
}
