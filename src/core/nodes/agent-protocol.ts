import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { isIP } from 'node:net';
import { canonicalJson } from '../common/canonical-json';

/**
 * What node agents send, and how it is signed. Every message is canonical JSON signed with the
 * node's Ed25519 key; the control plane checks the signature, the purpose, freshness (clock skew)
 * and, for everything after the join, a strictly increasing sequence number. Pure: no I/O.
 */

export const PERFORMANCE_CLASSES = ['high', 'low'] as const;

/** A message whose sentAt is further than this from the control plane's clock is refused. */
export const MAX_CLOCK_SKEW_MS = 60_000;
/** Most samples one latency report may carry. */
export const MAX_LATENCY_SAMPLES = 256;
/** A round trip this long or longer is not a measurement we keep. */
export const MAX_RTT_MS = 10_000;

export interface GpuInventory {
  model: string;
  count: number;
}

export interface NodeInventory {
  cpus: number;
  memoryMb: number;
  gpus: GpuInventory[];
  features: string[];
  performance: (typeof PERFORMANCE_CLASSES)[number];
}

export interface LocalityTags {
  region?: string;
  zone?: string;
  rack?: string;
  providerGroup?: string;
}

export interface JoinMessage {
  purpose: 'join';
  /** The single-use nonce the control plane handed out for this join token. */
  nonce: string;
  publicKey: string;
  inventory: NodeInventory;
  tags: LocalityTags;
  /** host:port where this agent answers latency probes from its peers. */
  probeAddress: string;
  sentAt: number;
}

export interface HeartbeatMessage {
  purpose: 'heartbeat';
  nodeId: string;
  seq: number;
  sentAt: number;
  capacity: { cpusFree: number; memoryFreeMb: number; gpusFree: number };
  health: 'ok' | 'degraded';
  slurmdState: string;
}

export interface LatencySample {
  /** The peer's node id. */
  peer: string;
  /** Median round trip of the probes that were answered; null only when none was (loss 1). */
  rttMs: number | null;
  /** Fraction of the probes that went unanswered, 0..1. */
  loss: number;
  probes: number;
}

export interface LatencyReport {
  purpose: 'latency';
  nodeId: string;
  seq: number;
  sentAt: number;
  samples: LatencySample[];
}

export type AgentMessage = JoinMessage | HeartbeatMessage | LatencyReport;

/** Ed25519 public keys travel as the 32 raw bytes, base64url. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function publicKeyToText(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_ED25519_PREFIX.length).toString('base64url');
}

export function publicKeyFromText(text: string): KeyObject {
  const raw = Buffer.from(text, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== text) throw new Error('not an Ed25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function privateKeyFromPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the agent key must be Ed25519');
  return key;
}

export function signMessage(message: AgentMessage, privateKey: KeyObject): string {
  return sign(null, Buffer.from(canonicalJson(message)), privateKey).toString('base64url');
}

export function signatureValid(message: AgentMessage, signature: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(canonicalJson(message)), publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

export type MessageVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Everything but the signature and the stored sequence: the purpose matches the endpoint and
 * the sender's clock is within `maxSkewMs` of ours (a replay from long ago is refused even if
 * its sequence were somehow acceptable).
 */
export function checkFreshness(message: AgentMessage, purpose: AgentMessage['purpose'], nowMs: number, maxSkewMs: number): MessageVerdict {
  if (message.purpose !== purpose) return { ok: false, reason: `expected a ${purpose} message, got ${message.purpose}` };
  if (!Number.isFinite(message.sentAt)) return { ok: false, reason: 'sentAt must be a time in milliseconds' };
  const skew = Math.abs(message.sentAt - nowMs);
  if (skew > maxSkewMs) return { ok: false, reason: `clock skew of ${Math.round(skew / 1000)} s exceeds ${maxSkewMs / 1000} s` };
  return { ok: true };
}

/** Sequence numbers must strictly increase: an equal or lower one is a replay or out of order. */
export function checkSequence(seq: number, lastSeq: number): MessageVerdict {
  if (!Number.isSafeInteger(seq) || seq <= 0) return { ok: false, reason: 'seq must be a positive integer' };
  if (seq <= lastSeq) return { ok: false, reason: `seq ${seq} is not after ${lastSeq} (replayed or out of order)` };
  return { ok: true };
}

const FEATURE = /^[A-Za-z0-9_.-]{1,64}$/;
const TAG = /^[A-Za-z0-9_.:-]{1,64}$/;
const GPU_MODEL = /^[A-Za-z0-9_.-]{1,64}$/;

/** Validates an inventory an agent reported; returns the problem (naming the field) or null. */
export function inventoryProblem(inventory: NodeInventory, tags: LocalityTags): { field: string; reason: string } | null {
  const bad = (field: string, reason: string) => ({ field, reason });
  if (!Number.isInteger(inventory?.cpus) || inventory.cpus < 1 || inventory.cpus > 4096) return bad('inventory.cpus', '1 to 4096');
  if (!Number.isInteger(inventory.memoryMb) || inventory.memoryMb < 64 || inventory.memoryMb > 64 * 1024 * 1024) {
    return bad('inventory.memoryMb', '64 MiB to 64 TiB, in MiB');
  }
  if (!Array.isArray(inventory.gpus) || inventory.gpus.length > 16) return bad('inventory.gpus', 'a list of at most 16 models');
  for (const [i, gpu] of inventory.gpus.entries()) {
    if (typeof gpu?.model !== 'string' || !GPU_MODEL.test(gpu.model)) return bad(`inventory.gpus[${i}].model`, 'letters, digits, . _ -');
    if (!Number.isInteger(gpu.count) || gpu.count < 1 || gpu.count > 64) return bad(`inventory.gpus[${i}].count`, '1 to 64');
  }
  if (!Array.isArray(inventory.features) || inventory.features.length > 64 || !inventory.features.every((f) => typeof f === 'string' && FEATURE.test(f))) {
    return bad('inventory.features', 'at most 64 words of letters, digits, . _ -');
  }
  if (!PERFORMANCE_CLASSES.includes(inventory.performance)) return bad('inventory.performance', 'high or low');
  for (const [name, value] of Object.entries(tags ?? {})) {
    if (!['region', 'zone', 'rack', 'providerGroup'].includes(name)) return bad(`tags.${name}`, 'unknown tag');
    if (typeof value !== 'string' || !TAG.test(value)) return bad(`tags.${name}`, 'letters, digits, . _ : -');
  }
  return null;
}

/** Only the members the protocol defines (a checked inventory may still carry extra ones). */
export function normalizeInventory(inventory: NodeInventory): NodeInventory {
  return {
    cpus: inventory.cpus,
    memoryMb: inventory.memoryMb,
    gpus: inventory.gpus.map((gpu) => ({ model: gpu.model, count: gpu.count })),
    features: [...inventory.features],
    performance: inventory.performance,
  };
}

export type FieldProblem = { field: string; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NONCE = /^[A-Za-z0-9_-]{16,128}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
const SLURMD_STATE = /^[A-Za-z0-9_+*~#$@%!^-]{0,64}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** "host:port" or "[v6]:port" where agents answer probes; null when it is not one. */
export function parseProbeAddress(text: unknown): { host: string; port: number } | null {
  if (typeof text !== 'string' || text.length > 300) return null;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  const host = match[1] ?? match[2];
  if (match[1] !== undefined ? !(IPV6.test(host) && host.includes(':')) : !HOSTNAME.test(host)) return null;
  return { host, port };
}

/** An IP address in one spelling: IPv4-mapped IPv6 as IPv4, IPv6 lower-case and compressed; null when it is not an address. */
export function canonicalIp(text: string): string | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) return null;
  // URL parsing compresses and lower-cases IPv6, and writes a mapped IPv4 in hex: take it from there.
  const host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/**
 * A node's probe address must be its own: the address its join came from. Peers of every
 * provider are told to open connections to it, so any other host (or a name that resolves
 * anywhere) would turn the fleet's probes against a third party. Null when it is the node's own.
 */
export function probeAddressRefusal(probeAddress: string, sourceAddress: string): string | null {
  const target = parseProbeAddress(probeAddress);
  if (!target) return 'must be host:port';
  const source = canonicalIp(sourceAddress);
  const host = canonicalIp(target.host);
  if (!host) return `must be an IP address (this join comes from ${source ?? sourceAddress}); peers are only sent to a node's own address`;
  if (host !== source)
    return `must be this node's own address: this join comes from ${source ?? sourceAddress}, not ${host}; peers are only sent to a node's own address`;
  return null;
}

/** Checks every member of a join message except the signature and the nonce's state; null when sound. */
export function joinMessageProblem(message: unknown): FieldProblem | null {
  const bad = (field: string, reason: string) => ({ field: `message.${field}`, reason });
  if (!isObject(message)) return { field: 'message', reason: 'must be a join message object' };
  if (message.purpose !== 'join') return bad('purpose', 'must be "join"');
  if (typeof message.nonce !== 'string' || !NONCE.test(message.nonce)) return bad('nonce', 'must be the nonce from /v1/agent/join-challenge');
  try {
    publicKeyFromText(message.publicKey as string);
  } catch {
    return bad('publicKey', 'must be a raw Ed25519 public key, base64url (32 bytes)');
  }
  if (!parseProbeAddress(message.probeAddress)) return bad('probeAddress', 'must be host:port');
  if (typeof message.sentAt !== 'number') return bad('sentAt', 'must be a time in milliseconds');
  if (!isObject(message.inventory)) return bad('inventory', 'must be an object');
  if (message.tags !== undefined && !isObject(message.tags)) return bad('tags', 'must be an object');
  const inventory = inventoryProblem(message.inventory as unknown as NodeInventory, (message.tags ?? {}) as LocalityTags);
  return inventory ? bad(inventory.field, inventory.reason) : null;
}

function nodeMessageProblem(message: unknown, purpose: 'heartbeat' | 'latency'): FieldProblem | null {
  const bad = (field: string, reason: string) => ({ field: `message.${field}`, reason });
  if (!isObject(message)) return { field: 'message', reason: `must be a ${purpose} message object` };
  if (message.purpose !== purpose) return bad('purpose', `must be "${purpose}"`);
  if (typeof message.nodeId !== 'string' || !UUID.test(message.nodeId)) return bad('nodeId', 'must be the node id the join returned');
  if (!Number.isSafeInteger(message.seq) || (message.seq as number) <= 0) return bad('seq', 'must be a positive integer');
  if (typeof message.sentAt !== 'number') return bad('sentAt', 'must be a time in milliseconds');
  return null;
}

const count = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 1e12;

export function heartbeatProblem(message: unknown): FieldProblem | null {
  const common = nodeMessageProblem(message, 'heartbeat');
  if (common) return common;
  const m = message as Record<string, unknown>;
  const bad = (field: string, reason: string) => ({ field: `message.${field}`, reason });
  if (!isObject(m.capacity)) return bad('capacity', 'must be an object');
  for (const name of ['cpusFree', 'memoryFreeMb', 'gpusFree']) {
    if (!count(m.capacity[name])) return bad(`capacity.${name}`, 'must be a non-negative integer');
  }
  if (m.health !== 'ok' && m.health !== 'degraded') return bad('health', 'ok or degraded');
  if (typeof m.slurmdState !== 'string' || !SLURMD_STATE.test(m.slurmdState)) return bad('slurmdState', 'a SLURM node state word');
  return null;
}

export function latencyReportProblem(message: unknown): FieldProblem | null {
  const common = nodeMessageProblem(message, 'latency');
  if (common) return common;
  const m = message as Record<string, unknown>;
  const bad = (field: string, reason: string) => ({ field: `message.${field}`, reason });
  if (!Array.isArray(m.samples) || m.samples.length > MAX_LATENCY_SAMPLES) {
    return bad('samples', `a list of at most ${MAX_LATENCY_SAMPLES} samples`);
  }
  const peers = new Set<string>();
  for (const [i, sample] of (m.samples as unknown[]).entries()) {
    const field = `samples[${i}]`;
    if (!isObject(sample)) return bad(field, 'must be an object');
    if (typeof sample.peer !== 'string' || !UUID.test(sample.peer)) return bad(`${field}.peer`, 'must be a node id');
    if (sample.peer === m.nodeId) return bad(`${field}.peer`, 'a node does not measure itself');
    if (peers.has(sample.peer.toLowerCase())) return bad(`${field}.peer`, 'appears twice');
    peers.add(sample.peer.toLowerCase());
    if (!Number.isInteger(sample.probes) || (sample.probes as number) < 1 || (sample.probes as number) > 1000) {
      return bad(`${field}.probes`, '1 to 1000');
    }
    const loss = sample.loss;
    if (typeof loss !== 'number' || !(loss >= 0 && loss <= 1)) return bad(`${field}.loss`, 'a fraction from 0 to 1');
    const rtt = sample.rttMs;
    if (rtt === null) {
      if (loss !== 1) return bad(`${field}.rttMs`, 'may be null only when every probe was lost (loss 1)');
    } else if (typeof rtt !== 'number' || !(rtt >= 0 && rtt < MAX_RTT_MS)) {
      return bad(`${field}.rttMs`, `milliseconds, at least 0 and below ${MAX_RTT_MS}`);
    }
  }
  return null;
}
