import { generateKeyPairSync, KeyObject, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  HeartbeatMessage,
  JoinMessage,
  LatencyReport,
  LatencySample,
  LocalityTags,
  PERFORMANCE_CLASSES,
  privateKeyFromPem,
  publicKeyToText,
  signMessage,
} from '../../core/nodes/agent-protocol';
import { post, ServerError, serverUrl } from './client';
import { currentCapacity, defaultProbeHost, detectInventory } from './inventory';
import { measurePeers, startEchoServer } from './probe';
import { AgentState, readState, writeState } from './state-file';

/**
 * The node agent. `keygen` makes the node's Ed25519 key, `join` registers the machine with a join
 * token, `run` heartbeats, answers latency probes and measures the peers the control plane names.
 *
 *   node dist/src/apps/agent/main.js keygen --key-file /var/lib/archipelago-agent/node.key
 *   node dist/src/apps/agent/main.js join --server URL --token jt_… --key-file F --state-file S [--region R …]
 *   node dist/src/apps/agent/main.js run --server URL --key-file F --state-file S [--interval 30]
 *
 * Exit codes: 0 done (or stopped by SIGTERM/SIGINT), 1 failure, 2 usage or refused credentials,
 * 3 the node was deregistered (join again).
 */

const DEFAULT_PROBE_PORT = 47800;
const USAGE = `usage:
  agent keygen --key-file FILE
  agent join --server URL --token TOKEN --key-file FILE --state-file FILE
             [--region R] [--zone Z] [--rack K] [--provider-group G] [--performance high|low]
             [--features a,b] [--probe-port P] [--probe-host H]
             [--listen-host A] [--listen-port L]   (answer probes on A:L when peers dial H:P through NAT or a relay)
             H must be the address the control plane sees the join come from (sent from A when given)
  agent run  --server URL --key-file FILE --state-file FILE
             [--interval SECONDS] [--probes N] [--probe-interval SECONDS] [--probe-timeout-ms MS]`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super(message);
  }
}

const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function positiveInt(values: Record<string, unknown>, name: string, fallback: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from 1 to ${max}`);
  }
  return Number(raw);
}

function loadKey(path: string): KeyObject {
  if (!existsSync(path)) throw new UsageError(`key file ${path} does not exist: run "keygen --key-file ${path}" first`, false);
  if ((statSync(path).mode & 0o077) !== 0) console.error(`warning: ${path} is readable by others; chmod 600 it`);
  return privateKeyFromPem(readFileSync(path, 'utf8'));
}

function keygen(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { 'key-file': { type: 'string' } }, strict: true });
  const path = required(values, 'key-file');
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  try {
    // 'wx': refuses to overwrite an existing key (that would orphan the node registered with it).
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${path} already exists; refusing to overwrite a node key`, false);
    throw error;
  }
  console.log(publicKeyToText(createPublicKey(privateKey)));
}

async function join(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'key-file': { type: 'string' },
      'state-file': { type: 'string' },
      region: { type: 'string' },
      zone: { type: 'string' },
      rack: { type: 'string' },
      'provider-group': { type: 'string' },
      performance: { type: 'string' },
      features: { type: 'string' },
      'probe-port': { type: 'string' },
      'probe-host': { type: 'string' },
      'listen-host': { type: 'string' },
      'listen-port': { type: 'string' },
    },
  });
  const server = serverUrl(required(values, 'server'));
  const token = required(values, 'token');
  const statePath = required(values, 'state-file');
  if (existsSync(statePath)) {
    throw new UsageError(`${statePath} exists: this machine already joined (remove it, and make a new key, to join again)`, false);
  }
  const key = loadKey(required(values, 'key-file'));
  const performance = (values.performance ?? 'high') as (typeof PERFORMANCE_CLASSES)[number];
  if (!PERFORMANCE_CLASSES.includes(performance)) throw new UsageError('--performance must be high or low');
  const features = values.features
    ? values.features
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    : [];
  const probePort = positiveInt(values, 'probe-port', DEFAULT_PROBE_PORT, 65535);
  const probeHost = values['probe-host'] ?? defaultProbeHost();
  const listenPort = positiveInt(values, 'listen-port', probePort, 65535);
  const tags: LocalityTags = {
    region: values.region,
    zone: values.zone,
    rack: values.rack,
    providerGroup: values['provider-group'],
  };
  for (const name of Object.keys(tags) as Array<keyof LocalityTags>) if (tags[name] === undefined) delete tags[name];

  const inventory = detectInventory(features, performance);
  const from = values['listen-host'];
  const { nonce } = await post<{ nonce: string }>(server, '/v1/agent/join-challenge', { token }, from);
  const message: JoinMessage = {
    purpose: 'join',
    nonce,
    publicKey: publicKeyToText(createPublicKey(key)),
    inventory,
    tags,
    probeAddress: probeHost.includes(':') ? `[${probeHost}]:${probePort}` : `${probeHost}:${probePort}`,
    sentAt: Date.now(),
  };
  const joined = await post<{ nodeId: string; name: string; heartbeatIntervalSeconds: number }>(
    server,
    '/v1/agent/join',
    { token, message, signature: signMessage(message, key) },
    from,
  );
  writeState(statePath, {
    server,
    nodeId: joined.nodeId,
    name: joined.name,
    seq: 0,
    probeAddress: message.probeAddress,
    probePort: listenPort,
    ...(values['listen-host'] ? { listenHost: values['listen-host'] } : {}),
    heartbeatIntervalSeconds: joined.heartbeatIntervalSeconds,
    joinedAt: new Date().toISOString(),
  });
  log(
    `joined as ${joined.name} (${joined.nodeId}); ${inventory.cpus} CPUs, ${inventory.memoryMb} MiB, ` +
      `${inventory.gpus.map((g) => `${g.count}x ${g.model}`).join(', ') || 'no GPUs'}`,
  );
  console.log(JSON.stringify({ nodeId: joined.nodeId, name: joined.name }));
}

/** Agent messages go out one at a time, each with the next seq, persisted before it is sent. */
class Sender {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly server: string,
    private readonly key: KeyObject,
    private readonly state: AgentState,
    private readonly statePath: string,
  ) {}

  send<T>(path: string, build: (seq: number) => HeartbeatMessage | LatencyReport): Promise<T> {
    const run = async (): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        const seq = this.state.seq + 1;
        this.state.seq = seq;
        writeState(this.statePath, this.state);
        const message = build(seq);
        try {
          return await post<T>(this.server, path, { message, signature: signMessage(message, this.key) });
        } catch (error) {
          // The server remembers a later seq (a restored state file): resume after it, once.
          const lastSeq = error instanceof ServerError && error.status === 409 ? Number(error.body?.lastSeq) : NaN;
          if (attempt === 0 && Number.isSafeInteger(lastSeq) && lastSeq >= this.state.seq) {
            log(`server's last seq is ${lastSeq}; continuing after it`);
            this.state.seq = lastSeq;
            continue;
          }
          throw error;
        }
      }
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }
}

interface HeartbeatAnswer {
  state: string;
  nextHeartbeatSeconds: number;
  probePeers: Array<{ nodeId: string; name: string; probeAddress: string }>;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      server: { type: 'string' },
      'key-file': { type: 'string' },
      'state-file': { type: 'string' },
      interval: { type: 'string' },
      probes: { type: 'string' },
      'probe-interval': { type: 'string' },
      'probe-timeout-ms': { type: 'string' },
    },
  });
  const server = serverUrl(required(values, 'server'));
  const key = loadKey(required(values, 'key-file'));
  const statePath = required(values, 'state-file');
  const state = readState(statePath);
  const fixedInterval = values.interval === undefined ? null : positiveInt(values, 'interval', 30, 3600);
  const probes = positiveInt(values, 'probes', 5, 100);
  const probeIntervalMs = positiveInt(values, 'probe-interval', 60, 86400) * 1000;
  const probeTimeoutMs = positiveInt(values, 'probe-timeout-ms', 2000, 60000);
  const inventory = detectInventory([], 'high');
  const gpus = inventory.gpus.reduce((sum, g) => sum + g.count, 0);
  const sender = new Sender(server, key, state, statePath);

  const echo = await startEchoServer(state.probePort, state.listenHost);
  log(`${state.name} (${state.nodeId}) running; probes answered on ${state.listenHost ?? '*'}:${state.probePort}; seq ${state.seq}`);

  let stopping = false;
  let wake: () => void = () => undefined;
  let exitCode = 0;
  const stop = (signal: string) => {
    if (stopping) return;
    log(`${signal}: stopping`);
    stopping = true;
    wake();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const measured = new Set<string>();
  let lastRound = 0;
  let probing: Promise<void> | null = null;
  const probeRound = async (peers: HeartbeatAnswer['probePeers']) => {
    const samples: LatencySample[] = await measurePeers(peers, { probes, timeoutMs: probeTimeoutMs, concurrency: 8, localAddress: state.listenHost });
    if (stopping || samples.length === 0) return;
    const answer = await sender.send<{ accepted: number }>('/v1/agent/latency', (seq) => ({
      purpose: 'latency',
      nodeId: state.nodeId,
      seq,
      sentAt: Date.now(),
      samples,
    }));
    for (const peer of peers) measured.add(peer.nodeId);
    log(`latency: ${answer.accepted} sample(s) reported (${samples.map((s) => `${s.peer.slice(0, 8)} ${s.rttMs ?? '-'} ms loss ${s.loss}`).join(', ')})`);
  };

  let intervalSeconds = fixedInterval ?? state.heartbeatIntervalSeconds ?? 30;
  while (!stopping) {
    try {
      const answer = await sender.send<HeartbeatAnswer>('/v1/agent/heartbeat', (seq) => ({
        purpose: 'heartbeat',
        nodeId: state.nodeId,
        seq,
        sentAt: Date.now(),
        capacity: currentCapacity(inventory, gpus),
        health: 'ok',
        slurmdState: 'none',
      }));
      intervalSeconds = fixedInterval ?? answer.nextHeartbeatSeconds ?? intervalSeconds;
      const peers = answer.probePeers ?? [];
      const due = Date.now() - lastRound >= probeIntervalMs || peers.some((p) => !measured.has(p.nodeId));
      if (peers.length > 0 && due && !probing) {
        lastRound = Date.now();
        probing = probeRound(peers)
          .catch((error) => log(`latency round failed: ${(error as Error).message}`))
          .finally(() => {
            probing = null;
          });
      }
    } catch (error) {
      const status = error instanceof ServerError ? error.status : 0;
      log(`heartbeat failed: ${(error as Error).message}`);
      if (status === 410) {
        exitCode = 3;
        break;
      }
      if (status === 401) {
        exitCode = 2;
        break;
      }
    }
    if (!stopping) await sleep(intervalSeconds * 1000);
  }
  stopping = true;
  await probing;
  await echo.close();
  log('stopped');
  return exitCode;
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'keygen':
      keygen(rest);
      return 0;
    case 'join':
      await join(rest);
      return 0;
    case 'run':
      return run(rest);
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command');
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const usage = error instanceof UsageError && !error.showUsage ? '' : `\n${USAGE}`;
      console.error(`${(error as Error).message}${usage}`);
      process.exit(2);
    }
    if (error instanceof ServerError) {
      console.error(`refused: ${error.message}`);
      process.exit(error.status === 401 || error.status === 403 || error.status === 410 ? 2 : 1);
    }
    console.error(`failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
