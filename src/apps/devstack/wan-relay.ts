import { readFileSync } from 'node:fs';
import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A WAN emulator for the local stack: this kernel has no `tc netem`, so nodes that should be far apart
 * are made far apart by a TCP relay that delays every chunk. Each emulated node owns a loopback address
 * (e.g. 127.77.<site>.<n>); the relay listens on the address peers dial, looks at the source address of
 * each connection to tell which site it comes from, and holds data for half the sites' round-trip time
 * in each direction. Agents measure through it like through any network: nothing in the agent or the
 * control plane knows about it.
 */
export interface WanModel {
  /** Site name → address prefix of its nodes, e.g. { west: '127.77.1.' }. */
  sites: Record<string, string>;
  /** Extra round-trip time between two sites, keyed "a|b" (either order); same site: `${s}|${s}` or 0. */
  rttMs: Record<string, number>;
}

export interface WanRoute {
  /** What peers dial (the node's advertised probe address). */
  listen: { host: string; port: number };
  /** Where the node really answers. */
  target: { host: string; port: number };
  /** The site the node is in. */
  site: string;
}

export function siteOf(model: WanModel, address: string): string | null {
  const plain = address.replace(/^::ffff:/, '');
  for (const [site, prefix] of Object.entries(model.sites)) if (plain.startsWith(prefix)) return site;
  return null;
}

export function extraRttMs(model: WanModel, a: string | null, b: string): number {
  if (a === null) return 0;
  return model.rttMs[`${a}|${b}`] ?? model.rttMs[`${b}|${a}`] ?? 0;
}

/** Writes chunks to `to` after `delayMs`, in order; without a delay, at once (a timer would add its own). */
function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  if (delayMs <= 0) {
    from.pipe(to);
    return;
  }
  let lastDue = 0;
  from.on('data', (chunk: Buffer) => {
    const due = Math.max(Date.now() + delayMs, lastDue);
    lastDue = due;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, due - Date.now());
  });
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDue - Date.now())));
}

export interface WanRelay {
  servers: Server[];
  close(): Promise<void>;
}

export async function startWanRelay(model: WanModel, routes: WanRoute[]): Promise<WanRelay> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const servers = await Promise.all(
    routes.map(
      (route) =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer((client) => {
            track(client);
            client.setNoDelay(true);
            const oneWay = extraRttMs(model, siteOf(model, client.remoteAddress ?? ''), route.site) / 2;
            const upstream = createConnection({ host: route.target.host, port: route.target.port });
            track(upstream);
            upstream.setNoDelay(true);
            delayedPipe(client, upstream, oneWay);
            delayedPipe(upstream, client, oneWay);
            // Each side ends the other after its delayed data is out (delayedPipe); a close is final only for the closer.
            client.on('close', () => upstream.destroy());
          });
          server.once('error', reject);
          server.listen(route.listen.port, route.listen.host, () => resolve(server));
        }),
    ),
  );
  return {
    servers,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
    },
  };
}

/** `node dist/src/apps/devstack/wan-relay.js CONFIG.json` with { model, routes }; runs until killed. */
if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: wan-relay CONFIG.json   ({ "model": { "sites": {...}, "rttMs": {...} }, "routes": [...] })');
    process.exit(2);
  }
  const { model, routes } = JSON.parse(readFileSync(file, 'utf8')) as { model: WanModel; routes: WanRoute[] };
  startWanRelay(model, routes).then(
    () => console.log(`wan-relay: ${routes.length} route(s) up`),
    (error) => {
      console.error(`wan-relay: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
