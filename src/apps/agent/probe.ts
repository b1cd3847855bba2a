import { randomBytes } from 'node:crypto';
import { connect, createServer, Server, Socket } from 'node:net';
import type { LatencySample } from '../../core/nodes/agent-protocol';
import { parseProbeAddress } from '../../core/nodes/agent-protocol';

/** A probe is PROBE_BYTES random bytes; the echo server sends back what it got, up to that many, and closes. */
const PROBE_BYTES = 16;
const IDLE_MS = 5_000;

export interface EchoServer {
  server: Server;
  close(): Promise<void>;
}

/** The TCP echo peers probe. It echoes at most PROBE_BYTES per connection, so it cannot be used to amplify. */
export function startEchoServer(port: number, host = '0.0.0.0'): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    let echoed = 0;
    socket.on('data', (chunk: Buffer) => {
      if (echoed >= PROBE_BYTES) return;
      const part = chunk.subarray(0, PROBE_BYTES - echoed);
      echoed += part.length;
      socket.write(part);
      if (echoed >= PROBE_BYTES) socket.end();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  server.maxConnections = 256;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        server,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * One probe: connect, send PROBE_BYTES, time until they come back. The round trip is timed from
 * the write (the connect handshake is not counted); null when the peer does not answer in time.
 */
export function probeOnce(host: string, port: number, timeoutMs: number, localAddress?: string): Promise<number | null> {
  return new Promise((resolve) => {
    const payload = randomBytes(PROBE_BYTES);
    let received = Buffer.alloc(0);
    let sentAt = 0n;
    let settled = false;
    const socket = connect({ host, port, localAddress });
    const finish = (rtt: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(rtt);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      sentAt = process.hrtime.bigint();
      socket.write(payload);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= PROBE_BYTES) {
        const rtt = Number(process.hrtime.bigint() - sentAt) / 1e6;
        finish(received.subarray(0, PROBE_BYTES).equals(payload) ? rtt : null);
      }
    });
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** N probes, one after another: the median of those answered, and the fraction lost. */
export async function measurePeer(peer: string, probeAddress: string, probes: number, timeoutMs: number, localAddress?: string): Promise<LatencySample> {
  const target = parseProbeAddress(probeAddress);
  if (!target) return { peer, rttMs: null, loss: 1, probes };
  const rtts: number[] = [];
  for (let i = 0; i < probes; i++) {
    const rtt = await probeOnce(target.host, target.port, timeoutMs, localAddress);
    if (rtt !== null) rtts.push(rtt);
  }
  const loss = (probes - rtts.length) / probes;
  return { peer, rttMs: rtts.length ? Math.round(median(rtts) * 1000) / 1000 : null, loss, probes };
}

/** Measures every peer, `concurrency` at a time. */
export async function measurePeers(
  peers: Array<{ nodeId: string; probeAddress: string }>,
  options: { probes: number; timeoutMs: number; concurrency: number; localAddress?: string },
): Promise<LatencySample[]> {
  const samples: LatencySample[] = [];
  let next = 0;
  const worker = async () => {
    while (next < peers.length) {
      const peer = peers[next++];
      samples.push(await measurePeer(peer.nodeId, peer.probeAddress, options.probes, options.timeoutMs, options.localAddress));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, peers.length) }, worker));
  return samples;
}
